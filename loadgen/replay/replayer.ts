// Replays arrivals against a target, open loop, and keeps what the client saw of every invocation.
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ProgressBar, type ProgressCounters } from "./progress.js";
import { dispatch } from "./scheduler.js";
import type { ClientOutcome, ReplayTarget } from "./targets.js";

/** What a trace function is replayed as: a deployed function and the payload that sizes its work. */
export interface Assignment {
  readonly fn: string;
  readonly payload: Uint8Array;
  readonly timeoutMs: number;
}

export interface InvocationResult extends ClientOutcome {
  readonly functionId: string;
  readonly fn: string;
  /** Offset from the replay's start at which the arrival was due, and how late it was sent. */
  readonly intendedAtMs: number;
  readonly lagMs: number;
  /** Client-side latency, from sending to the answer. */
  readonly latencyMs: number;
}

export interface ReplayRun {
  readonly label: string;
  readonly results: InvocationResult[];
  readonly lagMs: Float64Array;
  readonly startedAtUnixMs: number;
  readonly endedAtUnixMs: number;
}

export interface ReplayOptions {
  readonly label: string;
  readonly arrivals: ReadonlyArray<{ readonly functionId: string; readonly atMs: number }>;
  readonly assignments: ReadonlyMap<string, Assignment>;
  readonly target: ReplayTarget;
  readonly durationMs: number;
  readonly progress?: boolean;
  readonly signal?: AbortSignal;
}

export async function replay(o: ReplayOptions): Promise<ReplayRun> {
  const missing = [...new Set(o.arrivals.map((a) => a.functionId))].filter((id) => !o.assignments.has(id));
  if (missing.length > 0) throw new Error(`no assignment for ${missing.length} trace functions, e.g. ${missing[0]}`);
  const counters: ProgressCounters = { dispatched: 0, done: 0, cold: 0, errors: 0 };
  const bar = o.progress === false ? undefined : new ProgressBar(o.label, o.arrivals.length, o.durationMs, counters);
  const results: InvocationResult[] = new Array(o.arrivals.length);
  const inflight = new Set<Promise<void>>();
  const startedAtUnixMs = Date.now();

  const stats = await dispatch(
    o.arrivals.map((a) => ({ atMs: a.atMs, item: a })),
    (arrival, index, lagMs) => {
      counters.dispatched++;
      const a = o.assignments.get(arrival.functionId)!;
      const sentAt = performance.now();
      const call = o.target
        .invoke(a.fn, a.payload, a.timeoutMs)
        .catch((err: Error): ClientOutcome => ({ invocationId: "", status: "CLIENT_ERROR", startKind: StartKind.UNSPECIFIED, execUs: 0, error: err.message }))
        .then((outcome) => {
          results[index] = { ...outcome, functionId: arrival.functionId, fn: a.fn, intendedAtMs: arrival.atMs, lagMs, latencyMs: performance.now() - sentAt };
          counters.done++;
          if (outcome.startKind === StartKind.COLD) counters.cold++;
          if (outcome.status !== "OK") counters.errors++;
        });
      inflight.add(call);
      void call.finally(() => inflight.delete(call));
    },
    { signal: o.signal },
  );
  await Promise.all([...inflight]);
  bar?.stop();
  return { label: o.label, results: results.slice(0, stats.dispatched), lagMs: stats.lagMs, startedAtUnixMs, endedAtUnixMs: Date.now() };
}
