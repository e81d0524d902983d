// One run's report: what the client saw (latency, errors, start kinds, the replayer's own lag) joined with
// what trace-store recorded (the time breakdown of each invocation, containers and the memory they held).
import { nearestRank, sortedCopy } from "../../common/percentiles.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerState, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import type { InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import type { InvocationResult, ReplayRun } from "../replay/replayer.js";

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface Breakdown {
  readonly queuedMs: number;
  readonly startupMs: number;
  readonly initMs: number;
  readonly execMs: number;
  readonly totalMs: number;
}

export interface RunReport {
  readonly label: string;
  readonly workload: string;
  readonly startedAtUnixMs: number;
  readonly endedAtUnixMs: number;
  readonly invocations: number;
  readonly errors: number;
  readonly errorsByStatus: Record<string, number>;
  readonly coldStarts: number;
  /** Cold starts of a function's first arrival in the replay: no policy that starts from nothing avoids them. */
  readonly firstArrivalColdStarts: number;
  readonly coldShare: number;
  /** Client-side latency (ms), for all and per start kind (COLD, WARM, ...). */
  readonly latency: { readonly all: Percentiles; readonly byKind: Record<string, Percentiles> };
  /** Means from trace-store records (ms), for all and per start kind. */
  readonly breakdown: { readonly all: Breakdown; readonly byKind: Record<string, Breakdown> };
  readonly containersCreated: number;
  readonly memoryMbSeconds: number;
  /** The replayer's own scheduling lag (ms). */
  readonly lag: Percentiles;
  /** Client results that found their trace-store record, and accepted invocations that did not. */
  readonly recordsMatched: number;
  readonly recordsMissing: number;
  readonly series: {
    /** [latency ms, cumulative fraction], downsampled. */
    readonly latencyCdf: ReadonlyArray<readonly [number, number]>;
    /** Per 10 s of the replay: invocations and cold starts. */
    readonly coldOverTime: ReadonlyArray<{ readonly tSec: number; readonly total: number; readonly cold: number }>;
    /** MB held by live containers, sampled at every change. */
    readonly memoryOverTime: ReadonlyArray<{ readonly tSec: number; readonly mb: number }>;
  };
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = sortedCopy(values);
  return { count: sorted.length, p50: nearestRank(sorted, 50), p95: nearestRank(sorted, 95), p99: nearestRank(sorted, 99), max: nearestRank(sorted, 100) };
}

const kindName = (k: StartKind) => (k === StartKind.UNSPECIFIED ? "NONE" : StartKind[k]);
const ms = (us: bigint | undefined) => Number(us ?? 0n) / 1000;

function meanBreakdown(records: readonly InvocationRecord[]): Breakdown {
  const n = records.length || 1;
  const sum = (f: (r: InvocationRecord) => bigint | undefined) => records.reduce((s, r) => s + ms(f(r)), 0) / n;
  return {
    queuedMs: sum((r) => r.timings?.queuedUs),
    startupMs: sum((r) => r.timings?.startupUs),
    initMs: sum((r) => r.timings?.initUs),
    execMs: sum((r) => r.timings?.execUs),
    totalMs: sum((r) => r.timings?.totalUs),
  };
}

/** Held memory as a step function of time, from container lifetimes (first event to REMOVED). */
export function memoryOverTime(events: readonly ContainerStateChanged[], startUnixMs: number): Array<{ tSec: number; mb: number }> {
  const sorted = [...events].sort((a, b) => (a.atUnixUs < b.atUnixUs ? -1 : a.atUnixUs > b.atUnixUs ? 1 : 0));
  const live = new Map<string, number>();
  let mb = 0;
  const out: Array<{ tSec: number; mb: number }> = [{ tSec: 0, mb: 0 }];
  for (const e of sorted) {
    const key = `${e.nodeId}/${e.containerId}`;
    const before = live.get(key);
    if (e.state === ContainerState.REMOVED) {
      if (before === undefined) continue;
      live.delete(key);
      mb -= before;
    } else {
      live.set(key, e.memoryMb);
      mb += e.memoryMb - (before ?? 0);
    }
    out.push({ tSec: Math.max(0, Number(e.atUnixUs / 1000n) - startUnixMs) / 1000, mb });
  }
  return out;
}

function downsampleCdf(sortedMs: Float64Array, points = 200): Array<[number, number]> {
  const n = sortedMs.length;
  if (n === 0) return [];
  const out: Array<[number, number]> = [];
  for (let i = 1; i <= points; i++) {
    const idx = Math.min(n - 1, Math.ceil((i / points) * n) - 1);
    out.push([sortedMs[idx], (idx + 1) / n]);
  }
  return out;
}

export interface ServerFacts {
  readonly records: ReadonlyMap<string, InvocationRecord>;
  readonly events: readonly ContainerStateChanged[];
  readonly containersCreated: number;
  readonly memoryMbSeconds: number;
}

export function buildRunReport(run: ReplayRun, workload: string, server: ServerFacts): RunReport {
  const errorsByStatus: Record<string, number> = {};
  const latencyByKind = new Map<string, number[]>();
  const recordsByKind = new Map<string, InvocationRecord[]>();
  const matched: InvocationRecord[] = [];
  let missing = 0;
  let cold = 0;
  const firstArrival = new Map<string, InvocationResult>();
  for (const r of run.results) {
    const first = firstArrival.get(r.fn);
    if (!first || r.intendedAtMs < first.intendedAtMs) firstArrival.set(r.fn, r);
  }
  for (const r of run.results) {
    if (r.status !== "OK") errorsByStatus[r.status] = (errorsByStatus[r.status] ?? 0) + 1;
    if (r.startKind === StartKind.COLD) cold++;
    const kind = kindName(r.startKind);
    if (!latencyByKind.has(kind)) latencyByKind.set(kind, []);
    latencyByKind.get(kind)!.push(r.latencyMs);
    if (!r.invocationId) continue;
    const rec = server.records.get(r.invocationId);
    if (!rec) {
      missing++;
      continue;
    }
    matched.push(rec);
    const recKind = kindName(rec.startKind);
    if (!recordsByKind.has(recKind)) recordsByKind.set(recKind, []);
    recordsByKind.get(recKind)!.push(rec);
  }
  const latencies = run.results.map((r) => r.latencyMs);
  const sortedLatency = sortedCopy(latencies);
  const buckets = new Map<number, { total: number; cold: number }>();
  for (const r of run.results) {
    const b = Math.floor(r.intendedAtMs / 10_000) * 10;
    const x = buckets.get(b) ?? { total: 0, cold: 0 };
    x.total++;
    if (r.startKind === StartKind.COLD) x.cold++;
    buckets.set(b, x);
  }
  const errors = Object.values(errorsByStatus).reduce((a, b) => a + b, 0);
  return {
    label: run.label,
    workload,
    startedAtUnixMs: run.startedAtUnixMs,
    endedAtUnixMs: run.endedAtUnixMs,
    invocations: run.results.length,
    errors,
    errorsByStatus,
    coldStarts: cold,
    firstArrivalColdStarts: [...firstArrival.values()].filter((r) => r.startKind === StartKind.COLD).length,
    coldShare: run.results.length === 0 ? 0 : cold / run.results.length,
    latency: { all: percentiles(latencies), byKind: Object.fromEntries([...latencyByKind].sort().map(([k, v]) => [k, percentiles(v)])) },
    breakdown: { all: meanBreakdown(matched), byKind: Object.fromEntries([...recordsByKind].sort().map(([k, v]) => [k, meanBreakdown(v)])) },
    containersCreated: server.containersCreated,
    memoryMbSeconds: server.memoryMbSeconds,
    lag: percentiles(run.lagMs),
    recordsMatched: matched.length,
    recordsMissing: missing,
    series: {
      latencyCdf: downsampleCdf(sortedLatency),
      coldOverTime: [...buckets].sort(([a], [b]) => a - b).map(([tSec, v]) => ({ tSec, ...v })),
      memoryOverTime: memoryOverTime(server.events, run.startedAtUnixMs),
    },
  };
}
