// One forked worker process running one function: spawn, import, runs over IPC, per-invocation timeouts,
// and the verdict for whatever was in flight when it died. The supervisor decides what happens next.
// A template worker is spawned with no function: it imports the package set, waits, and become() turns
// it into one function's worker, after which it is like any other.
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import type { Logger } from "../common/logger.js";
import { isolatedWorkerEnv, loadTimeoutMs, resolveEntry, workerEnv, type FunctionLoad } from "./function-load.js";
import type { ErrorReport, FromWorker, PreloadFailure, RunMessage, ToWorker } from "./ipc-messages.js";
import { readOomKillCount } from "./oom-kill-counter.js";
import { failedOutcome, type RunOutcome } from "./run-outcome.js";
import { describeExit, heapLimitMb, judgeDeath, mentionsHeapExhaustion, type DeathVerdict, type KillReason, type WorkerDeath } from "./worker-exit.js";
import type { WorkerIdentity } from "./worker-isolation.js";

export type LoadResult = { readonly ok: true; readonly initUs: number } | { readonly ok: false; readonly initUs: number; readonly error: ErrorReport };

export type PreloadResult =
  | { readonly ok: true; readonly preloadUs: number; readonly loaded: readonly string[]; readonly failed: readonly PreloadFailure[] }
  | { readonly ok: false; readonly error: string };

export type ExitHandler = (worker: WorkerProcess, verdict: DeathVerdict) => void;

/** The package set a template imports. */
export interface TemplatePreload {
  readonly packagesRoot: string;
  readonly packages: readonly string[];
}

export interface WorkerProcessOptions {
  /** For a template: templateLoad(), a placeholder until become(). */
  readonly load: FunctionLoad;
  /** Path of the bundled worker.js. */
  readonly workerScript: string;
  readonly logger: Logger;
  /** Its uid/gid and private directory; absent: the sidecar's user and env as workerEnv() gives it. */
  readonly identity?: WorkerIdentity;
  /** Spawn a template: import these packages and wait for become() instead of loading load. */
  readonly preload?: TemplatePreload;
  /** Called once, after the in-flight invocations have their verdict (replaceable: see setExitHandler). */
  readonly onExit: ExitHandler;
}

interface Pending {
  readonly seq: number;
  readonly invocationId: string;
  readonly limitMs: number;
  readonly startedMs: number;
  readonly resolve: (outcome: RunOutcome) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The end of the worker's stderr kept for logs and for InitErrors of a worker that exited while importing. */
const STDERR_TAIL_CHARS = 8192;
/** After exit, how long to wait for the last stderr bytes (V8's OOM message) before judging the death. */
const STDERR_DRAIN_MS = 200;
/** After the IPC channel closes, how long a worker has to exit on its own before it is killed. */
const DISCONNECT_GRACE_MS = 100;
const ignoreSendError = () => {};

const elapsedUs = (startedMs: number) => Math.round((performance.now() - startedMs) * 1000);

export class WorkerProcess {
  readonly spawnedAt = Date.now();
  readonly heapLimitMb: number;
  readonly identity: WorkerIdentity | undefined;
  /** Resolves once: imported (ok) or not (InitError). For a template, only after become(). */
  readonly loaded: Promise<LoadResult>;
  /** A template: resolves once its package set is imported, or it died first. Others: never settles. */
  readonly preloaded: Promise<PreloadResult>;
  /** Resolves when the process has exited and its in-flight invocations have their verdict. */
  readonly gone: Promise<void>;
  /** "template": spawned without a function, until become(). */
  state: "template" | "loading" | "ready" | "failed";
  /** A template whose package set is imported: it may become a function. */
  templateReady = false;
  exited = false;
  /** When the load failed (Date.now()), for the retry back-off. */
  failedAt = 0;
  loadFailure: (LoadResult & { ok: false }) | undefined;
  /** Invocations dispatched to this worker. */
  invocations = 0;

  readonly #o: WorkerProcessOptions;
  #load: FunctionLoad;
  #exitHandler: ExitHandler;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #oomKillsAtSpawn: number | undefined;
  #settleLoad!: (r: LoadResult) => void;
  #settleGone!: () => void;
  #settlePreload!: (r: PreloadResult) => void;
  #loadTimer: NodeJS.Timeout | undefined;
  #initUs = 0;
  #initTaken = false;
  #seq = 0;
  #killedBy: KillReason | undefined;
  #crash: ErrorReport | undefined;
  #stderrTail = "";
  #stderrReportedHeapOom = false;
  #exitHandled = false;

  constructor(options: WorkerProcessOptions) {
    this.#o = options;
    this.#load = options.load;
    this.#exitHandler = options.onExit;
    this.identity = options.identity;
    this.state = options.preload ? "template" : "loading";
    this.heapLimitMb = heapLimitMb(options.load.memoryMb);
    this.loaded = new Promise<LoadResult>((resolve) => (this.#settleLoad = resolve));
    this.gone = new Promise<void>((resolve) => (this.#settleGone = resolve));
    this.preloaded = new Promise<PreloadResult>((resolve) => (this.#settlePreload = resolve));
    this.#oomKillsAtSpawn = readOomKillCount();
    const entry = resolveEntry(options.load);
    const cwdExists = fs.existsSync(options.load.codeDir);
    const identity = options.identity;

    this.#child = fork(options.workerScript, [], {
      cwd: cwdExists ? options.load.codeDir : "/",
      env: this.#envFor(options.load),
      // Its own uid/gid (libuv drops the supplementary groups too): see worker-isolation.ts.
      ...(identity?.uid !== undefined ? { uid: identity.uid, gid: identity.gid ?? identity.uid } : {}),
      // --no-flush-bytecode: V8 drops the bytecode of functions that have not run for a while, so a rarely
      // invoked function (most are) would recompile on every call after a few idle seconds, up to 2x slower.
      execArgv: [`--max-old-space-size=${this.heapLimitMb}`, "--no-flush-bytecode"],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      // Its own process group, so a timeout kills whatever the function spawned along with it.
      detached: true,
      serialization: "json",
    });
    this.#child.on("message", this.#onMessage);
    this.#child.on("exit", (code, signal) => this.#onExit(code, signal));
    this.#child.on("error", (err) => this.#onSpawnError(err));
    this.#child.on("disconnect", () => {
      setTimeout(() => {
        if (!this.exited) this.kill({ kind: "disconnected" });
      }, DISCONNECT_GRACE_MS).unref();
    });
    this.#child.stderr?.on("data", (chunk: Buffer) => {
      // Pass the function's stderr (ctx.log lines, console.error) through to the container's log.
      process.stderr.write(chunk);
      const text = chunk.toString("utf8");
      // Scanned as it streams (with the previous tail, for a phrase split across chunks): the native stack
      // V8 prints after its report could push it out of the bounded tail.
      if (!this.#stderrReportedHeapOom) this.#stderrReportedHeapOom = mentionsHeapExhaustion(this.#stderrTail.slice(-64) + text);
      this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_CHARS);
    });
    if (this.#child.pid) {
      // Under memory pressure the kernel must pick the worker, never the sidecar (PID 1 of the container).
      try {
        fs.writeFileSync(`/proc/${this.#child.pid}/oom_score_adj`, "1000");
      } catch {
        // not Linux, or /proc read-only: the heap limit still catches most exhaustion
      }
    }

    if (options.preload) {
      this.#send({ kind: "preload", packagesRoot: options.preload.packagesRoot, packages: options.preload.packages });
      return;
    }
    if (!cwdExists) {
      this.#failLoad({ type: "InitError", message: `code directory ${options.load.codeDir} does not exist`, stack: "" }, { kind: "load-failed" });
      return;
    }
    if ("error" in entry) {
      this.#failLoad({ type: "InitError", message: entry.error, stack: "" }, { kind: "load-failed" });
      return;
    }
    this.#armLoadTimeout(options.load);
    this.#send({ kind: "load", entryPath: entry.path, functionName: options.load.functionName, memoryMb: options.load.memoryMb });
  }

  /** An import that does not finish in time fails the load (and the worker is killed). */
  #armLoadTimeout(load: FunctionLoad): void {
    const limitMs = loadTimeoutMs(load);
    this.#loadTimer = setTimeout(() => {
      this.#failLoad({ type: "InitError", message: `importing ${load.entry} did not finish within ${limitMs} ms`, stack: "" }, { kind: "load-timeout", limitMs });
    }, limitMs);
  }

  get load(): FunctionLoad {
    return this.#load;
  }

  /** Who hears of this worker's death: the template keeper until a supervisor adopts it. */
  setExitHandler(handler: ExitHandler): void {
    this.#exitHandler = handler;
  }

  /**
   * Turns a ready template into load's worker: its env is replaced, it enters load.codeDir and imports the
   * entry. Resolves like loaded does; a failed import leaves the worker killed, as for any worker.
   */
  become(load: FunctionLoad): Promise<LoadResult> {
    if (this.state !== "template" || !this.templateReady || this.doomed) {
      return Promise.resolve({ ok: false, initUs: 0, error: { type: "InitError", message: "the template worker is not ready to become a function", stack: "" } });
    }
    this.#load = load;
    this.state = "loading";
    const entry = resolveEntry(load);
    if ("error" in entry) {
      this.#failLoad({ type: "InitError", message: entry.error, stack: "" }, { kind: "load-failed" });
      return this.loaded;
    }
    this.#armLoadTimeout(load);
    this.#send({ kind: "become", env: this.#envFor(load), codeDir: load.codeDir, entryPath: entry.path, functionName: load.functionName, memoryMb: load.memoryMb });
    return this.loaded;
  }

  #envFor(load: FunctionLoad): Record<string, string> {
    return this.identity ? isolatedWorkerEnv(load, this.identity.home) : workerEnv(load);
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  /** Ready, alive and not being killed: new invocations may be sent to it. */
  get dispatchable(): boolean {
    return this.state === "ready" && this.#killedBy === undefined && !this.exited;
  }

  /** Killed or exited: it will never run another invocation. */
  get doomed(): boolean {
    return this.exited || this.#killedBy !== undefined;
  }

  /** The import time, once: the first invocation (or LoadFunction) that asks after a (re)start reports it. */
  takeInitUs(): number {
    if (this.#initTaken) return 0;
    this.#initTaken = true;
    return this.#initUs;
  }

  /** Sends one invocation; the returned promise always resolves, whatever happens to the worker. */
  run(invocationId: string, payload: string, limitMs: number, traceparent: string): Promise<RunOutcome> {
    const seq = ++this.#seq;
    this.invocations++;
    return new Promise<RunOutcome>((resolve) => {
      const pending: Pending = { seq, invocationId, limitMs, startedMs: performance.now(), resolve, timer: undefined };
      pending.timer = setTimeout(this.#onTimeout, limitMs, pending);
      this.#pending.set(seq, pending);
      const msg: RunMessage = { kind: "run", seq, invocationId, payload, deadlineMs: Date.now() + limitMs, traceparent };
      // If the channel is already gone, the exit handler answers this invocation.
      this.#send(msg);
    });
  }

  /** SIGKILL to the worker's whole process group. The first reason given is the one reported. */
  kill(reason: KillReason): void {
    if (this.exited) return;
    this.#killedBy ??= reason;
    this.#killGroup();
  }

  #send(msg: ToWorker): void {
    if (this.#child.connected) this.#child.send(msg, undefined, undefined, ignoreSendError);
  }

  #killGroup(): void {
    const pid = this.#child.pid;
    if (!pid) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  readonly #onMessage = (msg: FromWorker): void => {
    // The function shares the worker process and could call process.send itself: trust nothing blindly.
    if (typeof msg !== "object" || msg === null) return;
    switch (msg.kind) {
      case "done": {
        const p = this.#pending.get(msg.seq);
        if (!p) return; // timed out already, or a forged message
        this.#pending.delete(msg.seq);
        clearTimeout(p.timer);
        const execUs = Number(msg.execUs) || 0;
        if (typeof msg.output === "string") p.resolve({ status: InvocationStatus.OK, output: Buffer.from(msg.output, "utf8"), execUs, initUs: 0 });
        else p.resolve(failedOutcome(InvocationStatus.FUNCTION_ERROR, errorReport(msg.error), execUs));
        return;
      }
      case "loaded":
        if (this.state !== "loading") return;
        clearTimeout(this.#loadTimer);
        this.state = "ready";
        this.#initUs = Number(msg.initUs) || 0;
        this.#o.logger.info({ function: this.load.functionName, workerPid: this.pid, initUs: this.#initUs, sinceSpawnMs: Date.now() - this.spawnedAt }, "function loaded");
        this.#settleLoad({ ok: true, initUs: this.#initUs });
        return;
      case "load-failed": {
        const e = errorReport(msg.error);
        this.#initUs = Number(msg.initUs) || 0;
        this.#failLoad({ type: "InitError", message: `${e.type}: ${e.message}`, stack: e.stack }, { kind: "load-failed" });
        return;
      }
      case "crashed":
        this.#crash = errorReport(msg.error);
        return;
      case "preloaded": {
        if (this.state !== "template" || this.templateReady) return;
        this.templateReady = true;
        const loaded = Array.isArray(msg.loaded) ? msg.loaded.map(String) : [];
        const failed = Array.isArray(msg.failed) ? msg.failed.map((f) => ({ name: String(f?.name), message: String(f?.message) })) : [];
        const preloadUs = Number(msg.preloadUs) || 0;
        if (failed.length > 0) this.#o.logger.warn({ workerPid: this.pid, failed }, "template: some packages of the set could not be imported; it goes on without them");
        this.#o.logger.info({ workerPid: this.pid, uid: this.identity?.uid, packages: loaded.length, preloadUs, sinceSpawnMs: Date.now() - this.spawnedAt }, "template ready");
        this.#settlePreload({ ok: true, preloadUs, loaded, failed });
        return;
      }
    }
  };

  #failLoad(error: ErrorReport, reason: KillReason): void {
    if (this.state !== "loading") return;
    clearTimeout(this.#loadTimer);
    this.state = "failed";
    this.failedAt = Date.now();
    this.loadFailure = { ok: false, initUs: this.#initUs, error };
    this.#o.logger.warn({ function: this.load.functionName, workerPid: this.pid, error: error.message }, "function failed to load");
    this.#settleLoad(this.loadFailure);
    this.kill(reason);
  }

  readonly #onTimeout = (p: Pending): void => {
    if (!this.#pending.delete(p.seq)) return;
    p.resolve(
      failedOutcome(
        InvocationStatus.TIMEOUT,
        { type: "Timeout", message: `main() did not finish within ${p.limitMs} ms; the worker was killed and replaced`, stack: "" },
        elapsedUs(p.startedMs),
      ),
    );
    this.kill({ kind: "timeout", invocationId: p.invocationId, limitMs: p.limitMs });
  };

  #onSpawnError(err: Error): void {
    // fork() reports a failed spawn (EAGAIN under the pids limit, ENOMEM) as "error" without "exit".
    if (this.#child.pid !== undefined && !this.exited && this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#o.logger.warn({ workerPid: this.pid, err: err.message }, "worker process error");
      return;
    }
    this.#failLoad({ type: "InitError", message: `could not start the worker process: ${err.message}`, stack: "" }, { kind: "load-failed" });
    this.#onExit(null, null);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exitHandled) return;
    this.#exitHandled = true;
    this.exited = true;
    clearTimeout(this.#loadTimer);
    const judge = () => this.#judge(code, signal);
    const stderr = this.#child.stderr;
    if (!stderr || stderr.readableEnded || stderr.destroyed) return judge();
    const timer = setTimeout(judge, STDERR_DRAIN_MS);
    stderr.once("close", () => {
      clearTimeout(timer);
      judge();
    });
  }

  #judged = false;
  #judge(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#judged) return;
    this.#judged = true;
    // Whatever the function left running in its process group goes with it.
    this.#killGroup();
    const death: WorkerDeath = {
      code,
      signal,
      stderrReportedHeapOom: this.#stderrReportedHeapOom,
      oomKillsAtSpawn: this.#oomKillsAtSpawn,
      oomKillsAtExit: readOomKillCount(),
      killedBy: this.#killedBy,
      crash: this.#crash,
      memoryMb: this.load.memoryMb,
      heapLimitMb: this.heapLimitMb,
    };
    const verdict = judgeDeath(death);
    if (this.state === "template") this.#settlePreload({ ok: false, error: `the template worker ${describeExit(code, signal)}: ${verdict.error.message}` });
    if (this.state === "loading") {
      const message =
        verdict.status === InvocationStatus.OUT_OF_MEMORY || this.#crash
          ? `importing ${this.load.entry} failed: ${verdict.error.message}`
          : `the worker ${describeExit(code, signal)} while importing ${this.load.entry}`;
      this.#failLoad({ type: "InitError", message, stack: verdict.error.stack || this.#stderrTail.slice(-1024) }, { kind: "load-failed" });
    }
    const ours = this.#killedBy && this.#killedBy.kind !== "disconnected";
    const log = { function: this.load.functionName, workerPid: this.pid, code, signal, killedBy: this.#killedBy?.kind, verdict: verdict.error.message, inflight: this.#pending.size };
    if (ours) this.#o.logger.info(log, "worker stopped");
    else this.#o.logger.warn({ ...log, stderrTail: this.#stderrTail.slice(-500) }, "worker died");
    this.#exitHandler(this, verdict);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(failedOutcome(verdict.status, verdict.error, elapsedUs(p.startedMs)));
    }
    this.#pending.clear();
    this.#settleGone();
  }
}

/** Coerces what the worker sent into an ErrorReport of strings. */
function errorReport(value: unknown): ErrorReport {
  const e = (typeof value === "object" && value !== null ? value : {}) as Partial<Record<keyof ErrorReport, unknown>>;
  return {
    type: typeof e.type === "string" && e.type ? e.type : "Error",
    message: typeof e.message === "string" ? e.message : "",
    stack: typeof e.stack === "string" ? e.stack : "",
  };
}
