// Why a worker died, and what its in-flight invocations are told. Pure, so every case is unit-tested.
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import type { ErrorReport } from "./ipc-messages.js";

/** Why the sidecar itself killed a worker (absent when the worker died on its own). */
export type KillReason =
  | { readonly kind: "timeout"; readonly invocationId: string; readonly limitMs: number }
  | { readonly kind: "load-timeout"; readonly limitMs: number }
  | { readonly kind: "load-failed" }
  | { readonly kind: "replaced"; readonly why: string }
  | { readonly kind: "disconnected" }
  | { readonly kind: "stopping" };

export interface WorkerDeath {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The worker's stderr carried V8's fatal "heap out of memory" report (see mentionsHeapExhaustion). */
  readonly stderrReportedHeapOom: boolean;
  readonly oomKillsAtSpawn: number | undefined;
  readonly oomKillsAtExit: number | undefined;
  readonly killedBy: KillReason | undefined;
  /** The uncaught exception the worker reported just before exiting. */
  readonly crash: ErrorReport | undefined;
  readonly memoryMb: number;
  readonly heapLimitMb: number;
}

export interface DeathVerdict {
  readonly status: InvocationStatus.EXITED | InvocationStatus.OUT_OF_MEMORY;
  readonly error: ErrorReport;
}

const V8_HEAP_OOM = /JavaScript heap out of memory|Reached heap limit/;

/** V8's fatal report when the heap limit is reached; the phrases are short, so a chunk boundary rarely splits them. */
export function mentionsHeapExhaustion(stderrText: string): boolean {
  return V8_HEAP_OOM.test(stderrText);
}

/** The worker's JavaScript heap limit: 75% of the container's memory, leaving room for the sidecar and native memory. */
export function heapLimitMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * 0.75));
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
}

function diedOfHeapExhaustion(d: WorkerDeath): boolean {
  // V8 aborts (SIGABRT, or 134 when a shell reports it); a clean exit code with the text is the function printing it.
  const aborted = d.signal !== null || d.code === null || d.code >= 128;
  return aborted && d.stderrReportedHeapOom;
}

function killedByCgroupOom(d: WorkerDeath): boolean {
  return (
    d.signal === "SIGKILL" &&
    d.killedBy === undefined &&
    d.oomKillsAtSpawn !== undefined &&
    d.oomKillsAtExit !== undefined &&
    d.oomKillsAtExit > d.oomKillsAtSpawn
  );
}

function exited(message: string, stack = ""): DeathVerdict {
  return { status: InvocationStatus.EXITED, error: { type: "Exited", message, stack } };
}

/** The verdict for invocations that were in flight in the worker when it died. */
export function judgeDeath(d: WorkerDeath): DeathVerdict {
  const k = d.killedBy;
  if (k?.kind === "timeout") {
    return exited(`the worker was killed because invocation ${k.invocationId}, running in the same worker, timed out after ${k.limitMs} ms`);
  }
  if (k?.kind === "replaced") return exited(`the worker was replaced (${k.why}) while this invocation ran`);
  if (k?.kind === "stopping") return exited("the sidecar is stopping; the worker was killed");
  if (diedOfHeapExhaustion(d)) {
    return {
      status: InvocationStatus.OUT_OF_MEMORY,
      error: {
        type: "OutOfMemory",
        message: `the worker ran out of JavaScript heap (limit ${d.heapLimitMb} MB of the function's ${d.memoryMb} MB) and was replaced`,
        stack: "",
      },
    };
  }
  if (killedByCgroupOom(d)) {
    return {
      status: InvocationStatus.OUT_OF_MEMORY,
      error: { type: "OutOfMemory", message: `the container reached its memory limit of ${d.memoryMb} MB; the kernel killed the worker`, stack: "" },
    };
  }
  if (d.crash) return exited(`the worker crashed on an uncaught ${d.crash.type}: ${d.crash.message}`, d.crash.stack);
  if (k?.kind === "disconnected") return exited("the worker closed its IPC channel (process.disconnect()) and was killed");
  return exited(`the worker ${describeExit(d.code, d.signal)} before answering`);
}
