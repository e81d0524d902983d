// Keeps at most one template worker: a worker process that has imported the container's package set
// and never ran any function's code. Fork takes it (it becomes the function's worker) and a new one is
// started in the background; a template that dies idle is replaced, unless it dies right after its
// start (a package that kills the process at import), which would only loop.
import { performance } from "node:perf_hooks";
import type { Logger } from "../common/logger.js";
import { templateLoad } from "./function-load.js";
import { waitAtMost } from "./wait-at-most.js";
import type { WorkerIsolation } from "./worker-isolation.js";
import { WorkerProcess } from "./worker-process.js";

/** A template that dies idle this soon after its start is replaced lazily (by the next wait), not in a loop. */
const CRASH_LOOP_WINDOW_MS = 1000;
/** Templates one wait starts at most before giving up: each failed one already cost a whole import. */
const STARTS_PER_WAIT = 3;

export class TemplateUnavailableError extends Error {}

export interface TemplateKeeperOptions {
  readonly workerScript: string;
  readonly logger: Logger;
  readonly isolation: WorkerIsolation;
  /** Resolved like a module in this directory would resolve them (its node_modules, then its parents'). */
  readonly packagesRoot: string;
  readonly packages: readonly string[];
  /** The container's memory: a template's heap limit is set at spawn and cannot follow a later fork's limits. */
  readonly memoryMb: number;
}

export interface ReadyTemplate {
  readonly worker: WorkerProcess;
  /** How long this wait took (0: it was ready already). */
  readonly waitedUs: number;
}

export class TemplateKeeper {
  #current: WorkerProcess | undefined;
  #stopping = false;

  constructor(private readonly o: TemplateKeeperOptions) {}

  /** The live template, ready or still importing (for Stats). */
  get template(): WorkerProcess | undefined {
    const t = this.#current;
    return t && !t.doomed ? t : undefined;
  }

  /** Starts a template unless one is alive. */
  ensure(): WorkerProcess {
    return this.template ?? this.#spawn();
  }

  /** Waits up to timeoutMs for a ready template, starting one (or a few, if they die) as needed. */
  async waitReady(timeoutMs: number): Promise<ReadyTemplate> {
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    let lastError = "";
    let waited = false;
    for (let starts = 0; ; ) {
      if (this.#stopping) throw new TemplateUnavailableError("the sidecar is stopping");
      let worker = this.template;
      if (!worker) {
        if (starts++ >= STARTS_PER_WAIT) break;
        worker = this.#spawn();
      }
      if (worker.templateReady) return { worker, waitedUs: waited ? Math.round((performance.now() - started) * 1000) : 0 };
      waited = true;
      const result = await waitAtMost(worker.preloaded, deadline - Date.now());
      if (result === undefined) {
        throw new TemplateUnavailableError(`the template worker (pid ${worker.pid}) has not finished importing the package set within ${timeoutMs} ms`);
      }
      if (!result.ok) lastError = result.error;
    }
    throw new TemplateUnavailableError(`no template worker could be started (${STARTS_PER_WAIT} tried): ${lastError}`);
  }

  /**
   * Waits for a ready template and hands it over: from then on it is the caller's (its exit handler, its
   * directory), and the keeper holds none until ensure() starts the next one.
   */
  async take(timeoutMs: number): Promise<ReadyTemplate> {
    const ready = await this.waitReady(timeoutMs);
    this.#current = undefined;
    return ready;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const t = this.#current;
    this.#current = undefined;
    if (!t) return;
    t.kill({ kind: "stopping" });
    await waitAtMost(t.gone, 2000);
  }

  #spawn(): WorkerProcess {
    const identity = this.o.isolation.templateIdentity();
    const worker = new WorkerProcess({
      load: templateLoad(identity.home, this.o.memoryMb),
      workerScript: this.o.workerScript,
      logger: this.o.logger,
      identity,
      preload: { packagesRoot: this.o.packagesRoot, packages: this.o.packages },
      onExit: (w) => this.#onTemplateExit(w),
    });
    this.#current = worker;
    this.o.logger.info({ workerPid: worker.pid, uid: identity.uid, packages: this.o.packages.length }, "template starting");
    return worker;
  }

  /** Only while the keeper still holds it: once taken, the exit handler is its new owner's. */
  #onTemplateExit(worker: WorkerProcess): void {
    if (worker.identity) this.o.isolation.release(worker.identity);
    if (this.#stopping || worker !== this.#current) return;
    this.#current = undefined;
    if (Date.now() - worker.spawnedAt < CRASH_LOOP_WINDOW_MS) {
      this.o.logger.warn({ workerPid: worker.pid }, "template died right after its start; the next wait for one starts another");
      return;
    }
    this.#spawn();
  }
}
