// The planner's CPU model from the profiling run's bursts (services/balancer/packing/planner.ts): CPU-seconds
// per instance started, per piece and per invocation, fitted by least squares to what the node's CPUs
// spent in each burst. Pure; the profiling run measures and hands the bursts in.
import type { CpuCapacity } from "../services/balancer/packing/planner.js";

export interface CpuSample {
  /** Containers the burst started. */
  readonly started: number;
  /** Pieces it was sent as (one per invocation for vanilla). */
  readonly pieces: number;
  readonly invocations: number;
  /** CPU-seconds the node spent from its first request to its last answer. */
  readonly cpuS: number;
}

/**
 * Fits cpuS ≈ started·instanceS + pieces·pieceS + invocations·invocationS as the profiling run's bursts
 * allow. The cold bursts of single invocations (one piece each) give instanceS and pieceS + invocationS,
 * by least squares through the origin over (started, invocations): the small ones are nearly all
 * start-up, the burst of m nearly all pieces. The warm bursts of one piece of d give invocationS as the
 * slope of their CPU over d; not their intercept, which holds what any burst costs once (the first call
 * after a pause: 25-55 ms on the 2-core machine, where a single of the burst of 500 costs 13 ms in all).
 * Coefficients are never negative (noise can push a small one below 0).
 */
export function fitCpu(warm: readonly CpuSample[], cold: readonly CpuSample[], cores: number): CpuCapacity {
  if (warm.length < 2 || new Set(warm.map((s) => s.invocations)).size < 2) throw new RangeError("the CPU fit needs warm bursts of at least two sizes");
  if (new Set(cold.map((s) => s.invocations / Math.max(1, s.started))).size < 2 || cold.every((s) => s.started === 0)) {
    throw new RangeError("the CPU fit needs cold bursts that started containers, at two ratios of invocations to containers at least");
  }
  const n = warm.length;
  const mx = warm.reduce((a, s) => a + s.invocations, 0) / n;
  const my = warm.reduce((a, s) => a + s.cpuS, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of warm) {
    sxy += (s.invocations - mx) * (s.cpuS - my);
    sxx += (s.invocations - mx) ** 2;
  }
  const invocationS = Math.max(0, sxy / sxx);
  // Cold: cpu = started·a + invocations·b, b = pieceS + invocationS (a piece per invocation).
  let ss = 0;
  let nn = 0;
  let sn = 0;
  let sc = 0;
  let nc = 0;
  for (const s of cold) {
    ss += s.started * s.started;
    nn += s.invocations * s.invocations;
    sn += s.started * s.invocations;
    sc += s.started * s.cpuS;
    nc += s.invocations * s.cpuS;
  }
  const det = ss * nn - sn * sn;
  const a = (sc * nn - nc * sn) / det;
  const b = (nc * ss - sc * sn) / det;
  return { cores, instanceS: Math.max(0, a), pieceS: Math.max(0, b - invocationS), invocationS };
}
