// The hybrid histogram policy of "Serverless in the Wild" (Shahrad et al., ATC'20), per function f, from
// f's idle times (the time from "nothing of f running" to f's next arrival):
//
//   pre-warm window  W_p = floor(p5  × 0.9)   (the head, with the paper's 10% margin: load a bit early)
//   keep-alive window W_k = ceil(p99 × 1.1)   (the tail, 10% margin: keep a bit longer)
//
// The paper bins idle times in 1-minute bins over a 4-hour range and reads the percentiles off the bins
// (rounded to bin edges). Here bin width and range are options (default 1 min / 4 h) and are used only
// to judge whether the histogram is representative; the percentiles are nearest-rank over the raw
// in-range samples (finer than the bins: at the platform's seconds-scale idle times a 1-minute bin edge
// would round every window to 0 or 1 min).
//
// Representative (the paper's criterion, made concrete): at least `minSamples` idle times fall within the
// range, at most `maxOutOfRangeShare` of all idle times fall beyond it (the paper switches to an ARIMA
// forecast when many do; we take the fallback instead), and the coefficient of variation (population
// standard deviation / mean) of the bin counts over all ceil(range / bin) bins is at least `minBinCv`
// (default 2): idle times concentrated in a few bins. Otherwise f gets the fixed keep-alive
// `fallbackKeepAliveMs` (default 10 min), measured from the container's last use.
//
// Actions for f's IDLE executors (inflight 0), when representative:
//   - W_p > 0 ("unload, then pre-warm"): an executor that has served an invocation is removed as soon as
//     f's idleSince is set, i.e. right after f's last execution; once now − idleSince ≥ W_p and
//     now − idleSince < W_k, a `prewarm-executor` of f is emitted if f has no executor (STARTING counted;
//     executors removed in the same call are not). A pre-warmed executor — never used, lastUsedAt ≤
//     createdAt — is not unloaded; it is removed once now − idleSince ≥ W_k (the window is measured from
//     the start of the idle period, so the container lives from ≈ p5 to ≈ p99 of the idle time). A used
//     executor idle while f still runs elsewhere (idleSince undefined) is removed after W_k from its last use.
//   - W_p = 0: plain keep-alive of W_k from the last use, no unloading, no pre-warm.
// Containers that are not executors (none are created by this policy) get the fallback keep-alive.
import { ContainerRole } from "../container.js";
import { checkInt, checkNumber, functionsByName, idleMs, isIdle, isLive, percentileNearestRank } from "./common.js";
import { OPENWHISK_KEEP_ALIVE_MS } from "./keepalive.js";
import type { ContainerView, FunctionView, NodeView, PolicyAction, StartupPolicy } from "./policy.js";

export const DEFAULT_HISTOGRAM_BIN_MS = 60_000;
export const DEFAULT_HISTOGRAM_RANGE_MS = 4 * 3_600_000;
export const DEFAULT_HISTOGRAM_MIN_SAMPLES = 10;
export const DEFAULT_HISTOGRAM_MIN_BIN_CV = 2;
export const DEFAULT_HISTOGRAM_MAX_OUT_OF_RANGE_SHARE = 0.5;
export const PREWARM_PERCENTILE = 5;
export const KEEP_ALIVE_PERCENTILE = 99;

export interface HistogramOptions {
  /** Keep-alive when f's histogram is not representative (ms). Default 10 min. */
  readonly fallbackKeepAliveMs?: number;
  /** Histogram bin width (ms). Default 1 min. */
  readonly binMs?: number;
  /** Histogram range (ms); longer idle times are out of range. Default 4 h. */
  readonly rangeMs?: number;
  /** In-range idle times needed for a representative histogram. Default 10. */
  readonly minSamples?: number;
  /** Minimum coefficient of variation of the bin counts. Default 2. */
  readonly minBinCv?: number;
  /** Largest share of out-of-range idle times for a representative histogram. Default 0.5. */
  readonly maxOutOfRangeShare?: number;
}

export type HistogramWindows =
  | { readonly representative: true; readonly prewarmMs: number; readonly keepAliveMs: number; readonly binCv: number }
  | { readonly representative: false; readonly keepAliveMs: number; readonly why: string };

interface Settings {
  readonly fallbackKeepAliveMs: number;
  readonly binMs: number;
  readonly rangeMs: number;
  readonly minSamples: number;
  readonly minBinCv: number;
  readonly maxOutOfRangeShare: number;
}

function settings(o: HistogramOptions): Settings {
  return {
    fallbackKeepAliveMs: checkInt("fallbackKeepAliveMs", o.fallbackKeepAliveMs ?? OPENWHISK_KEEP_ALIVE_MS, 0),
    binMs: checkInt("binMs", o.binMs ?? DEFAULT_HISTOGRAM_BIN_MS, 1),
    rangeMs: checkInt("rangeMs", o.rangeMs ?? DEFAULT_HISTOGRAM_RANGE_MS, 1),
    minSamples: checkInt("minSamples", o.minSamples ?? DEFAULT_HISTOGRAM_MIN_SAMPLES, 1),
    minBinCv: checkNumber("minBinCv", o.minBinCv ?? DEFAULT_HISTOGRAM_MIN_BIN_CV, 0),
    maxOutOfRangeShare: checkNumber("maxOutOfRangeShare", o.maxOutOfRangeShare ?? DEFAULT_HISTOGRAM_MAX_OUT_OF_RANGE_SHARE, 0, 1),
  };
}

/** Coefficient of variation of the bin counts of the in-range samples (0 when there are none). */
export function binCountCv(samples: readonly number[], binMs: number, rangeMs: number): number {
  const bins = Math.ceil(rangeMs / binMs);
  const counts = new Array<number>(bins).fill(0);
  let n = 0;
  for (const x of samples) {
    if (x < 0 || x > rangeMs) continue;
    counts[Math.min(bins - 1, Math.floor(x / binMs))]++;
    n++;
  }
  if (n === 0) return 0;
  const mean = n / bins;
  let sq = 0;
  for (const c of counts) sq += (c - mean) * (c - mean);
  return Math.sqrt(sq / bins) / mean;
}

function windows(fn: FunctionView | undefined, s: Settings): HistogramWindows {
  const fallback = (why: string): HistogramWindows => ({ representative: false, keepAliveMs: s.fallbackKeepAliveMs, why });
  const all = fn?.idleTimesMs ?? [];
  const inRange = all.filter((x) => x >= 0 && x <= s.rangeMs);
  if (inRange.length < s.minSamples) return fallback(`${inRange.length} idle times in range < ${s.minSamples}`);
  const outShare = (all.length - inRange.length) / all.length;
  if (outShare > s.maxOutOfRangeShare) return fallback(`${Math.round(outShare * 100)}% idle times beyond the range`);
  const binCv = binCountCv(inRange, s.binMs, s.rangeMs);
  if (binCv < s.minBinCv) return fallback(`bin-count CV ${binCv.toFixed(2)} < ${s.minBinCv}`);
  const p5 = percentileNearestRank(inRange, PREWARM_PERCENTILE)!;
  const p99 = percentileNearestRank(inRange, KEEP_ALIVE_PERCENTILE)!;
  // Integer arithmetic before rounding: 0.9 × 100000 is not exactly 90000 in floating point.
  return { representative: true, prewarmMs: Math.floor((p5 * 9) / 10), keepAliveMs: Math.ceil((p99 * 11) / 10), binCv };
}

/** f's windows as the policy computes them (for logs, tests and reports). */
export function histogramWindows(fn: FunctionView | undefined, options: HistogramOptions = {}): HistogramWindows {
  return windows(fn, settings(options));
}

/** Never served an invocation: a pre-warmed executor waiting for its first arrival. */
function neverUsed(c: ContainerView): boolean {
  return c.lastUsedAt <= c.createdAt;
}

export function histogramPolicy(options: HistogramOptions = {}): StartupPolicy {
  const s = settings(options);
  return {
    name: "histogram",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      const actions: PolicyAction[] = [];
      const fns = functionsByName(view);
      const memo = new Map<string, HistogramWindows>();
      const windowsOf = (name: string): HistogramWindows => {
        let w = memo.get(name);
        if (!w) memo.set(name, (w = windows(fns.get(name), s)));
        return w;
      };
      const removed = new Set<string>();
      const remove = (c: ContainerView, reason: string) => {
        removed.add(c.id);
        actions.push({ kind: "remove", containerId: c.id, reason });
      };

      for (const c of view.containers) {
        if (!isIdle(c)) continue;
        const idle = idleMs(c, nowMs);
        if (c.role !== ContainerRole.EXECUTOR) {
          if (idle >= s.fallbackKeepAliveMs) remove(c, `idle for ${idle} ms >= keep-alive ${s.fallbackKeepAliveMs} ms`);
          continue;
        }
        const w = windowsOf(c.functionName);
        if (!w.representative) {
          if (idle >= w.keepAliveMs) remove(c, `idle for ${idle} ms >= fallback keep-alive ${w.keepAliveMs} ms (${w.why})`);
          continue;
        }
        if (w.prewarmMs === 0) {
          if (idle >= w.keepAliveMs) remove(c, `idle for ${idle} ms >= keep-alive window ${w.keepAliveMs} ms`);
          continue;
        }
        const idleSince = fns.get(c.functionName)?.idleSince;
        if (neverUsed(c)) {
          const since = idleSince ?? c.lastUsedAt;
          if (nowMs - since >= w.keepAliveMs) remove(c, `pre-warmed, no arrival for ${nowMs - since} ms >= keep-alive window ${w.keepAliveMs} ms`);
        } else if (idleSince !== undefined) {
          remove(c, `unloaded after execution: pre-warm window ${w.prewarmMs} ms > 0`);
        } else if (idle >= w.keepAliveMs) {
          remove(c, `idle for ${idle} ms >= keep-alive window ${w.keepAliveMs} ms`);
        }
      }

      for (const f of view.functions) {
        if (f.idleSince === undefined) continue;
        const w = windowsOf(f.name);
        if (!w.representative || w.prewarmMs === 0) continue;
        const idleFor = nowMs - f.idleSince;
        if (idleFor < w.prewarmMs || idleFor >= w.keepAliveMs) continue;
        const hasExecutor = view.containers.some((c) => c.role === ContainerRole.EXECUTOR && c.functionName === f.name && isLive(c) && !removed.has(c.id));
        if (hasExecutor) continue;
        actions.push({
          kind: "prewarm-executor",
          functionName: f.name,
          reason: `idle for ${idleFor} ms >= pre-warm window ${w.prewarmMs} ms, < keep-alive window ${w.keepAliveMs} ms`,
        });
      }
      return actions;
    },
  };
}
