// What calibration learnt about this machine: duration models per function and the refined work size per
// (function, target duration). Both depend only on the machine and the function's code, so they are kept
// in a JSON file keyed by host and function digest and reused until either changes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DurationModel, Refined } from "./suite/index.js";

interface CacheFile {
  models: Record<string, DurationModel>;
  refined: Record<string, Refined>;
}

export class CalibrationCache {
  #data: CacheFile = { models: {}, refined: {} };

  constructor(private readonly file: string) {
    try {
      const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<CacheFile>;
      this.#data = { models: raw.models ?? {}, refined: raw.refined ?? {} };
    } catch {
      // No cache yet, or an unreadable one: measure again.
    }
  }

  static #machine(digest: string): string {
    return `${os.hostname()}/${os.cpus().length}cpu/${digest}`;
  }

  model(digest: string): DurationModel | undefined {
    return this.#data.models[CalibrationCache.#machine(digest)];
  }

  setModel(digest: string, model: DurationModel): void {
    this.#data.models[CalibrationCache.#machine(digest)] = model;
  }

  refined(digest: string, targetMs: number): Refined | undefined {
    return this.#data.refined[`${CalibrationCache.#machine(digest)}@${targetMs}`];
  }

  setRefined(digest: string, targetMs: number, r: Refined): void {
    this.#data.refined[`${CalibrationCache.#machine(digest)}@${targetMs}`] = r;
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.#data, null, 2));
  }
}
