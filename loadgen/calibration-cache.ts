// Duration models are a property of the machine and the function's code: measured once, kept in a JSON
// file keyed by host and function digest, and reused until either changes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DurationModel } from "./suite/index.js";

type CacheFile = Record<string, DurationModel>;

export class CalibrationCache {
  #entries: CacheFile = {};

  constructor(private readonly file: string) {
    try {
      this.#entries = JSON.parse(fs.readFileSync(file, "utf8")) as CacheFile;
    } catch {
      this.#entries = {};
    }
  }

  static key(digest: string): string {
    return `${os.hostname()}/${os.cpus().length}cpu/${digest}`;
  }

  get(digest: string): DurationModel | undefined {
    return this.#entries[CalibrationCache.key(digest)];
  }

  set(digest: string, model: DurationModel): void {
    this.#entries[CalibrationCache.key(digest)] = model;
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.#entries, null, 2));
  }
}
