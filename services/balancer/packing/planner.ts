// ProPack's model as code: how many invocations to pack into one instance (the packing degree d) when m
// invocations of one function arrive at once. With K = ceil(m/d) pieces, one instance each:
//   time  T(d) = E(d) + S(K)                 (the last instance is up after S(K), then serves its d)
//   cost  C(d) = E(d) · K · memory · price    (every piece billed for its service time)
// ProPack assumes the cluster brings up as many instances as asked for. Ours may not: a node stops
// scaling a function up while its CPUs are saturated, and its memory is finite. With a measured cap
// of I instances, piece p runs on instance (p mod I) + 1 in round floor(p / I), each round E(d) after
// the one before: a low degree then costs rounds, not instances.
// S(n) is the measured time to bring up n instances, E(d) the function's measured service time at degree
// d, measured alone in one warm instance. In a burst every piece also costs h, the piece overhead: its
// dispatch, its results streamed back, and the platform's CPU that its execution shares the node with.
// ProPack has no such term; without it, E(2)/2 = E(64)/64 reads as "2 costs what 64 costs", while in a
// burst of 500 on 2 cores 250 pieces of 2 cost 1.6x what 8 pieces of 64 do (README, the CPU-bound sweep).
// Each piece is charged E(d) + h, in time and in cost.
// The time is computed per instance, which ProPack's formula rounds: instance k is up at S(k) and
// completes its d_k invocations at S(k) + E(d_k), the last one holding only what is left (m - (K-1)d),
// so the makespan ("total") is the latest of those, equal to E(d) + S(K) when d divides m. The median
// and tail metrics are percentiles of the sorted completions (ProPack's scripts took them over unsorted
// lists). The objective is time, cost, or both as a weighted sum of the two, each normalised to [0, 1]
// over the candidate degrees (ProPack: 0.55 cost, 0.45 time).
import { nearestRank } from "../../../common/percentiles.js";
import type { MeasuredCurve } from "./curve.js";

export const OBJECTIVES = ["time", "cost", "both"] as const;
export type Objective = (typeof OBJECTIVES)[number];
export const METRICS = ["total", "median", "tail"] as const;
export type Metric = (typeof METRICS)[number];

/** AWS Lambda x86 price per GB-second (first pricing tier, us-east-1), the default of the cost model. */
export const LAMBDA_X86_USD_PER_GB_SECOND = 0.0000166667;

export interface PackingProblem {
  /** m: invocations to place. */
  readonly invocations: number;
  /** S(n), seconds to bring up n instances. */
  readonly scaling: MeasuredCurve;
  /** E(d), seconds one instance takes to serve d invocations packed together. */
  readonly service: MeasuredCurve;
  /** One instance's memory. */
  readonly memoryMb: number;
  /** Degrees considered: 1..maxDegree (the container's concurrency limit, its memory). */
  readonly maxDegree: number;
  /** The most instances the cluster brings up for one burst (measured); undefined: as many as asked for. */
  readonly maxInstances?: number;
  /** h, seconds each piece costs beyond E(d) in a burst (measured); undefined: 0, ProPack's model. */
  readonly pieceOverheadS?: number;
}

export interface PackingSettings {
  readonly objective: Objective;
  readonly metric: Metric;
  readonly usdPerGbSecond: number;
  /** Weights of the normalised cost and time for objective "both". */
  readonly costWeight: number;
  readonly timeWeight: number;
  /** The percentile metric "tail" takes (nearest rank). */
  readonly tailPercentile: number;
}

export const DEFAULT_PACKING_SETTINGS: PackingSettings = {
  objective: "both",
  metric: "total",
  usdPerGbSecond: LAMBDA_X86_USD_PER_GB_SECOND,
  costWeight: 0.55,
  timeWeight: 0.45,
  tailPercentile: 99,
};

export interface DegreePrediction {
  readonly degree: number;
  /** ceil(m / d): the invocations in pieces of d. */
  readonly pieces: number;
  /** The instances serving them: the pieces, or the cap when there are more. */
  readonly instances: number;
  /** E(d). */
  readonly serviceS: number;
  /** E(d) + h: what one piece holds its instance for, and is billed for. */
  readonly pieceS: number;
  /** Completion of the last invocation (the makespan). */
  readonly totalS: number;
  readonly medianS: number;
  readonly tailS: number;
  /** The settings' metric, in seconds. */
  readonly timeS: number;
  readonly costUsd: number;
  /** What the objective minimises (seconds, dollars, or the normalised weighted sum). */
  readonly score: number;
}

export interface PackingPlan {
  readonly degree: number;
  readonly objective: Objective;
  readonly metric: Metric;
  /** One per candidate degree, ascending. */
  readonly predictions: readonly DegreePrediction[];
}

/** The completion time of every invocation, ascending, when packed d per instance. */
export function completionTimes(problem: PackingProblem, degree: number): Float64Array {
  const { invocations: m, scaling, service } = problem;
  const pieces = Math.ceil(m / degree);
  const instances = instancesFor(problem, pieces);
  const h = problem.pieceOverheadS ?? 0;
  const full = service.at(degree) + h;
  const out = new Float64Array(m);
  let i = 0;
  for (let p = 0; p < pieces; p++) {
    const packed = Math.min(degree, m - p * degree);
    const done = scaling.at((p % instances) + 1) + Math.floor(p / instances) * full + service.at(packed) + h;
    for (let j = 0; j < packed; j++) out[i++] = done;
  }
  return out.sort();
}

function instancesFor(problem: PackingProblem, pieces: number): number {
  return Math.min(pieces, problem.maxInstances ?? Infinity);
}

export function predict(problem: PackingProblem, degree: number, settings: PackingSettings = DEFAULT_PACKING_SETTINGS): Omit<DegreePrediction, "score"> {
  const pieces = Math.ceil(problem.invocations / degree);
  const instances = instancesFor(problem, pieces);
  const serviceS = problem.service.at(degree);
  const pieceS = serviceS + (problem.pieceOverheadS ?? 0);
  const done = completionTimes(problem, degree);
  const totalS = done[done.length - 1];
  const medianS = nearestRank(done, 50);
  const tailS = nearestRank(done, settings.tailPercentile);
  const timeS = settings.metric === "total" ? totalS : settings.metric === "median" ? medianS : tailS;
  const costUsd = pieceS * pieces * (problem.memoryMb / 1024) * settings.usdPerGbSecond;
  return { degree, pieces, instances, serviceS, pieceS, totalS, medianS, tailS, timeS, costUsd };
}

/** Predicts every degree in 1..maxDegree and picks the one the objective prefers. */
export function planPacking(problem: PackingProblem, partial: Partial<PackingSettings> = {}): PackingPlan {
  const settings = { ...DEFAULT_PACKING_SETTINGS, ...partial };
  checkProblem(problem);
  checkSettings(settings);
  const raw = [];
  for (let d = 1; d <= Math.min(problem.maxDegree, problem.invocations); d++) raw.push(predict(problem, d, settings));
  const normalise = normaliser(raw.map((p) => p.timeS));
  const normaliseCost = normaliser(raw.map((p) => p.costUsd));
  const predictions = raw.map((p) => ({
    ...p,
    score:
      settings.objective === "time"
        ? p.timeS
        : settings.objective === "cost"
          ? p.costUsd
          : settings.costWeight * normaliseCost(p.costUsd) + settings.timeWeight * normalise(p.timeS),
  }));
  // Ties: the cheaper, then the faster, then the lower degree (fewer invocations share a failure).
  let best = predictions[0];
  for (const p of predictions.slice(1)) {
    if (p.score < best.score || (p.score === best.score && (p.costUsd < best.costUsd || (p.costUsd === best.costUsd && p.timeS < best.timeS)))) best = p;
  }
  return { degree: best.degree, objective: settings.objective, metric: settings.metric, predictions };
}

/** (v - min) / (max - min) over the candidates; all equal: 0. */
function normaliser(values: readonly number[]): (v: number) => number {
  const min = Math.min(...values);
  const span = Math.max(...values) - min;
  return (v) => (span > 0 ? (v - min) / span : 0);
}

function checkProblem(p: PackingProblem): void {
  if (!Number.isInteger(p.invocations) || p.invocations < 1) throw new RangeError(`invocations must be a positive integer, got ${p.invocations}`);
  if (!Number.isInteger(p.maxDegree) || p.maxDegree < 1) throw new RangeError(`maxDegree must be a positive integer, got ${p.maxDegree}`);
  if (!(p.memoryMb > 0)) throw new RangeError(`memoryMb must be positive, got ${p.memoryMb}`);
  if (p.maxInstances !== undefined && !(Number.isInteger(p.maxInstances) && p.maxInstances >= 1)) throw new RangeError(`maxInstances must be a positive integer, got ${p.maxInstances}`);
  if (p.pieceOverheadS !== undefined && !(Number.isFinite(p.pieceOverheadS) && p.pieceOverheadS >= 0)) throw new RangeError(`pieceOverheadS must be a finite time ≥ 0, got ${p.pieceOverheadS}`);
}

function checkSettings(s: PackingSettings): void {
  if (!OBJECTIVES.includes(s.objective)) throw new RangeError(`objective must be one of ${OBJECTIVES.join(", ")}, got ${s.objective}`);
  if (!METRICS.includes(s.metric)) throw new RangeError(`metric must be one of ${METRICS.join(", ")}, got ${s.metric}`);
  if (!(s.usdPerGbSecond >= 0)) throw new RangeError(`usdPerGbSecond must be ≥ 0, got ${s.usdPerGbSecond}`);
  if (!(s.costWeight >= 0 && s.timeWeight >= 0 && s.costWeight + s.timeWeight > 0)) {
    throw new RangeError(`costWeight and timeWeight must be ≥ 0 and not both 0, got ${s.costWeight} and ${s.timeWeight}`);
  }
  if (!(s.tailPercentile > 0 && s.tailPercentile <= 100)) throw new RangeError(`tailPercentile must be in (0, 100], got ${s.tailPercentile}`);
}
