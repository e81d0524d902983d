// Keeps one worker for the container's function and runs invocations on it: the concurrency limit
// (FIFO), waiting for an import, timeouts, InitError with a retry back-off, a fresh worker right after
// any death, and LoadFunction's replacement of the worker. Its first worker may be a template it
// adopted (Fork); the workers it spawns itself run under that worker's identity.
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import type { Logger } from "../common/logger.js";
import { setOutcomeStatus } from "../common/outcome-span.js";
import { nowMs, recordSpan, sampledContextFromTraceparent, startSpan, traceparentOf, type Context } from "../common/trace-context.js";
import { FifoGate } from "./fifo-gate.js";
import { sameLoad, type FunctionLoad } from "./function-load.js";
import { failedOutcome, type RunOutcome } from "./run-outcome.js";
import type { DeathVerdict } from "./worker-exit.js";
import { waitAtMost } from "./wait-at-most.js";
import type { WorkerIdentity } from "./worker-isolation.js";
import { WorkerProcess, type ExitHandler, type LoadResult } from "./worker-process.js";

/** A failed import is retried by the next invocation, but not more often than this. */
export const LOAD_RETRY_GAP_MS = 1000;
/** A worker that dies idle this soon after its start is replaced lazily (by the next run), not in a loop. */
const CRASH_LOOP_WINDOW_MS = 1000;

export interface RunInput {
  readonly invocationId: string;
  readonly payload: Uint8Array;
  /** 0: the function's timeout; otherwise the smaller of the two. */
  readonly timeoutMs: number;
  readonly traceparent: string;
}

export class StoppingError extends Error {}

export interface SupervisorOptions {
  readonly load: FunctionLoad;
  readonly workerScript: string;
  readonly logger: Logger;
  /** uid/gid and private directory of every worker it spawns; absent: the sidecar's user (tests). */
  readonly identity?: WorkerIdentity;
  /** A worker that already loaded o.load (a template after become()): it is the current worker. */
  readonly adopted?: WorkerProcess;
}

export class FunctionSupervisor {
  #load: FunctionLoad;
  #current: WorkerProcess | undefined;
  /** More workers of the same load, load.workers in all: started with the current one, replaced when busy. */
  #extras: WorkerProcess[] = [];
  readonly #gate: FifoGate;
  #inflight = 0;
  #stopping = false;
  #firstRunEnded!: () => void;
  /** Settles when the first invocation this supervisor accepted has been answered. */
  readonly firstRunEnded = new Promise<void>((resolve) => (this.#firstRunEnded = resolve));

  constructor(private readonly o: SupervisorOptions) {
    this.#load = o.load;
    this.#gate = new FifoGate(o.load.maxConcurrency);
    if (o.adopted) {
      this.#current = o.adopted;
      o.adopted.setExitHandler((w, verdict) => this.#onWorkerExit(w, verdict));
      this.#fill();
    }
  }

  get identity(): WorkerIdentity | undefined {
    return this.o.identity;
  }

  get load(): FunctionLoad {
    return this.#load;
  }

  /** Invocations accepted and not yet answered, queued ones included. */
  get inflight(): number {
    return this.#inflight;
  }

  /** The live worker, if any (for Stats). */
  get worker(): WorkerProcess | undefined {
    const w = this.#current;
    return w && !w.doomed ? w : undefined;
  }

  /** Every live worker: the current one and the extras (for Stats). */
  get workers(): WorkerProcess[] {
    return [this.#current, ...this.#extras].filter((w): w is WorkerProcess => w !== undefined && !w.doomed);
  }

  /** Forks the worker now, so the import overlaps with the sidecar binding its socket. */
  start(): void {
    this.#spawn();
    this.#fill();
  }

  async run(input: RunInput): Promise<RunOutcome> {
    if (this.#stopping) throw new StoppingError("the sidecar is stopping");
    const limitMs = input.timeoutMs > 0 ? Math.min(input.timeoutMs, this.#load.timeoutMs) : this.#load.timeoutMs;
    const arrived = Date.now();
    this.#inflight++;
    try {
      if (!this.#gate.tryAcquire() && !(await this.#gate.wait(limitMs))) {
        return failedOutcome(InvocationStatus.TIMEOUT, {
          type: "Timeout",
          message: `waited ${Date.now() - arrived} ms for one of the container's ${this.#gate.limit} concurrent slot(s); main() never started (limit ${limitMs} ms)`,
          stack: "",
        });
      }
      try {
        const worker = this.#leastBusy();
        if (worker) {
          this.#growIfAllBusy(worker);
          return await this.#dispatch(worker, input, limitMs);
        }
        return await this.#runAfterLoad(input, limitMs, arrived);
      } finally {
        this.#gate.release();
      }
    } catch (err) {
      // One invocation's internal failure must never take down the others or the sidecar.
      this.o.logger.error({ err, invocation: input.invocationId }, "run failed inside the sidecar");
      return failedOutcome(InvocationStatus.PLATFORM_ERROR, { type: "Internal", message: `sidecar error: ${(err as Error).message}`, stack: "" });
    } finally {
      this.#inflight--;
      this.#firstRunEnded();
    }
  }

  /**
   * LoadFunction: the same load as now just reports it (loading if needed); another one replaces the worker.
   * Resolves with the load result and the pid of the worker that did it.
   */
  async loadFunction(next: FunctionLoad): Promise<{ result: LoadResult; initUs: number; pid: number }> {
    if (this.#stopping) throw new StoppingError("the sidecar is stopping");
    let worker = this.#current;
    if (!sameLoad(next, this.#load)) {
      this.o.logger.info({ from: this.#load.functionName, to: next.functionName, codeDir: next.codeDir }, "loading another function");
      const previous = worker;
      this.#load = next;
      this.#gate.setLimit(next.maxConcurrency);
      worker = this.#spawn();
      previous?.kill({ kind: "replaced", why: `LoadFunction of ${next.functionName}` });
      for (const extra of this.#extras.splice(0)) extra.kill({ kind: "replaced", why: `LoadFunction of ${next.functionName}` });
      this.#fill();
    } else if (!worker || worker.doomed || worker.state === "failed") {
      // An explicit load retries at once, whatever the back-off.
      worker = this.#spawn();
    }
    const result = await worker.loaded;
    return { result, initUs: result.ok ? worker.takeInitUs() : result.initUs, pid: worker.pid };
  }

  /** Kills the worker (its process group) and waits for it to be gone. Resolves with how many were live. */
  async stop(): Promise<number> {
    this.#stopping = true;
    const all = [this.#current, ...this.#extras].filter((w): w is WorkerProcess => w !== undefined);
    this.#current = undefined;
    this.#extras = [];
    const live = all.filter((w) => !w.exited).length;
    for (const w of all) w.kill({ kind: "stopping" });
    await Promise.all(all.map((w) => waitAtMost(w.gone, 2000)));
    return live;
  }

  /** The dispatchable worker with the fewest invocations in flight (the current one on a tie). */
  #leastBusy(): WorkerProcess | undefined {
    let best = this.#current?.dispatchable ? this.#current : undefined;
    for (const w of this.#extras) if (w.dispatchable && (!best || w.inflight < best.inflight)) best = w;
    return best;
  }

  /** The function's declared workers, all started now (a burst's members spread over them at once). */
  #fill(): void {
    while (!this.#stopping && 1 + this.#extras.length < this.#load.workers) this.#spawnExtra();
  }

  /**
   * When even the least busy worker has an invocation running and an extra worker died (it is not
   * replaced at its death: a crash loop would only spin), one more starts for the invocations after this.
   */
  #growIfAllBusy(leastBusy: WorkerProcess): void {
    if (leastBusy.inflight === 0 || this.#stopping) return;
    if (1 + this.#extras.length >= this.#load.workers) return;
    if (this.#extras.some((w) => !w.doomed && w.state !== "ready")) return; // one is starting already
    this.#spawnExtra();
  }

  #spawnExtra(): void {
    this.#extras.push(
      this.#newWorker((w) => {
        this.#extras = this.#extras.filter((x) => x !== w);
      }),
    );
  }

  /** A worker of the current load, under the supervisor's identity. */
  #newWorker(onExit: ExitHandler): WorkerProcess {
    return new WorkerProcess({ load: this.#load, workerScript: this.o.workerScript, logger: this.o.logger, identity: this.o.identity, onExit });
  }

  #dispatch(worker: WorkerProcess, input: RunInput, limitMs: number): Promise<RunOutcome> {
    const initUs = worker.takeInitUs();
    const payload = Buffer.from(input.payload.buffer, input.payload.byteOffset, input.payload.byteLength).toString("utf8");
    // An unsampled trace makes no spans here: the function gets its caller's traceparent as it came.
    const parent = sampledContextFromTraceparent(input.traceparent);
    const traced = parent ? this.#executionSpan(worker, input, initUs, parent) : undefined;
    const outcome = worker.run(input.invocationId, payload, limitMs, traced?.traceparent || input.traceparent);
    if (initUs === 0 && !traced) return outcome;
    return outcome.then((o) => {
      if (initUs !== 0) o.initUs = initUs;
      traced?.end(o);
      return o;
    });
  }

  /**
   * The invocation's spans in this container: the import it waited for (sidecar.init, when it did) and
   * main() (function.execute), whose context the function gets as ctx.traceparent. No-ops unless the
   * sidecar's SDK is loaded and the caller sampled the trace.
   */
  #executionSpan(worker: WorkerProcess, input: RunInput, initUs: number, parent: Context) {
    const startedAt = nowMs();
    const attributes = { "faas.function": this.#load.functionName, "faas.invocation_id": input.invocationId, "faas.worker.pid": worker.pid };
    if (initUs > 0) recordSpan("sidecar.init", parent, startedAt - initUs / 1000, startedAt, attributes);
    const { span, ctx } = startSpan("function.execute", parent, { startTime: startedAt, attributes });
    return {
      traceparent: traceparentOf(ctx),
      end(o: RunOutcome) {
        if (span.isRecording()) {
          span.setAttribute("faas.status", InvocationStatus[o.status]);
          setOutcomeStatus(span, o);
        }
        span.end();
      },
    };
  }

  /**
   * The cold path: wait for the current worker's import (starting one if needed). The wait for a slot and
   * for the load together are bounded by the invocation's limit; main() then gets its full limit.
   */
  async #runAfterLoad(input: RunInput, limitMs: number, arrived: number): Promise<RunOutcome> {
    const waitUntil = arrived + limitMs;
    for (;;) {
      const worker = this.#workerToWaitFor();
      if (!(worker instanceof WorkerProcess)) return worker;
      if (!worker.dispatchable) {
        const result = await waitAtMost(worker.loaded, waitUntil - Date.now());
        if (result === undefined) {
          return failedOutcome(InvocationStatus.TIMEOUT, {
            type: "Timeout",
            message: `waited ${Date.now() - arrived} ms for the function to load (importing ${this.#load.entry} is still running); main() never started (limit ${limitMs} ms)`,
            stack: "",
          });
        }
        // A worker replaced by LoadFunction while we waited: wait for its successor instead.
        if (!result.ok && worker !== this.#current) continue;
        if (!result.ok) return failedOutcome(InvocationStatus.FUNCTION_ERROR, result.error, 0, worker.takeInitUs());
      }
      if (worker.dispatchable) return this.#dispatch(worker, input, limitMs);
      // It died between loading and now; the loop finds its replacement.
      if (Date.now() >= waitUntil) {
        return failedOutcome(InvocationStatus.TIMEOUT, { type: "Timeout", message: `no live worker within ${limitMs} ms`, stack: "" });
      }
    }
  }

  /** The worker to wait for, or the cached InitError while a failed load is in its back-off. */
  #workerToWaitFor(): WorkerProcess | RunOutcome {
    if (this.#stopping) return failedOutcome(InvocationStatus.PLATFORM_ERROR, { type: "Stopping", message: "the sidecar is stopping", stack: "" });
    const w = this.#current;
    if (w && w.state !== "failed" && !w.doomed) return w;
    if (w?.state === "failed" && w.loadFailure && Date.now() - w.failedAt < LOAD_RETRY_GAP_MS) {
      return failedOutcome(InvocationStatus.FUNCTION_ERROR, w.loadFailure.error);
    }
    return this.#spawn();
  }

  #spawn(): WorkerProcess {
    const worker = this.#newWorker((w, verdict) => this.#onWorkerExit(w, verdict));
    this.#current = worker;
    return worker;
  }

  #onWorkerExit(worker: WorkerProcess, verdict: DeathVerdict): void {
    if (this.#stopping || worker !== this.#current || worker.state !== "ready") return;
    const idleCrash = worker.inflight === 0 && Date.now() - worker.spawnedAt < CRASH_LOOP_WINDOW_MS;
    if (idleCrash) {
      this.o.logger.warn({ function: this.#load.functionName, verdict: verdict.error.message }, "worker died idle right after its start; the next run starts a new one");
      return;
    }
    this.#spawn();
  }
}
