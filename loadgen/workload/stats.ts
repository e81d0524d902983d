// Summary numbers of a workload for reports: rates, and how concentrated the arrivals are on the most
// invoked functions (the Azure traces are heavily skewed).
import type { Workload } from "./model.js";

export interface RankShare {
  /** Fraction of the workload's functions, most invoked first (0.01 = top 1%). */
  readonly topFraction: number;
  /** How many functions that is (at least one). */
  readonly functions: number;
  /** Their share of all arrivals, 0..1. */
  readonly share: number;
}

export interface WorkloadStats {
  readonly functions: number;
  /** Functions with at least one arrival. */
  readonly activeFunctions: number;
  readonly arrivals: number;
  readonly durationMs: number;
  readonly meanPerSecond: number;
  /** Most arrivals in one whole second of the replay ([k s, k+1 s)). */
  readonly peakPerSecond: number;
  readonly peakSecond: number;
  /** Arrivals per function, most invoked first. */
  readonly arrivalsByRank: readonly number[];
  readonly shareByRank: readonly RankShare[];
}

const TOP_FRACTIONS = [0.01, 0.1, 0.5, 1];

export function workloadStats(w: Workload): WorkloadStats {
  const perFunction = new Map<string, number>(w.functions.map((f) => [f.id, 0]));
  const perSecond = new Map<number, number>();
  for (const a of w.arrivals) {
    perFunction.set(a.functionId, (perFunction.get(a.functionId) ?? 0) + 1);
    const second = Math.floor(a.atMs / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  let peakPerSecond = 0;
  let peakSecond = 0;
  for (const [second, count] of perSecond) {
    if (count > peakPerSecond || (count === peakPerSecond && second < peakSecond)) [peakPerSecond, peakSecond] = [count, second];
  }
  const arrivalsByRank = [...perFunction.values()].sort((a, b) => b - a);
  const total = w.arrivals.length;
  const shareByRank = TOP_FRACTIONS.map((topFraction): RankShare => {
    const functions = Math.max(1, Math.ceil(topFraction * arrivalsByRank.length));
    const top = arrivalsByRank.slice(0, functions).reduce((sum, n) => sum + n, 0);
    return { topFraction, functions: Math.min(functions, arrivalsByRank.length), share: total === 0 ? 0 : top / total };
  });
  return {
    functions: w.functions.length,
    activeFunctions: arrivalsByRank.filter((n) => n > 0).length,
    arrivals: total,
    durationMs: w.durationMs,
    meanPerSecond: w.durationMs > 0 ? total / (w.durationMs / 1000) : 0,
    peakPerSecond,
    peakSecond,
    arrivalsByRank,
    shareByRank,
  };
}
