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
// The node's CPUs are shared too, and neither term above sees it: bringing an instance up costs the node
// about a CPU-second (docker, the runtime, the sidecar), taken from the burst's own work on a small node.
// With the CPU measured (profile: CPU-seconds per instance started, per piece and per invocation, and the
// cores), a burst cannot end before all of that CPU has run on the cores:
//   floor(d) = (I·c_instance + K·c_piece + m·c_invocation) / cores
// When the latency model's makespan is shorter, every execution shares the cores with the rest, and
// completions and billed time stretch by floor / makespan. On 2 cores this is what the latency model
// missed: a CPU-bound burst of 500 in pieces of 32 brought up 5 containers and ended after 3.3 s, in
// pieces of 64 4 containers and 2.6 s, while E(32)/32 = E(64)/64 made the two alike to the planner.
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
  /** The CPU the burst shares (measured); undefined: unbounded, ProPack's model. */
  readonly cpu?: CpuCapacity;
  /**
   * The dispatch's batch bound (BATCH_MAX_SIZE): the invocations are cut into batches of at most this many
   * first, and each batch into pieces of d, so a degree that does not divide it leaves a small piece per
   * batch (500 at 63 with batches of 64: 15 pieces, not 8). Undefined: one batch.
   */
  readonly batchSize?: number;
  /**
   * R(d), seconds from one piece of d to the next on one instance in a burst (measured: its dispatch, its
   * run among the burst's other work, its answers); undefined: E(d) + h, the piece alone.
   */
  readonly round?: MeasuredCurve;
  /**
   * B(d), seconds a piece of d is billed for in a burst (measured where R(d) is: the union of its
   * executions on its instance); undefined: E(d) + h, the piece alone.
   */
  readonly billed?: MeasuredCurve;
}

/** What a burst costs the node's CPUs, in CPU-seconds, and the CPUs it has. */
export interface CpuCapacity {
  readonly cores: number;
  /** Bringing up one instance. */
  readonly instanceS: number;
  /** One piece, beyond its invocations: its dispatch, its stream, its run's set-up. */
  readonly pieceS: number;
  /** One invocation: the function's work and its way through the platform. */
  readonly invocationS: number;
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
  /** CPU-seconds the burst takes (0 without a CPU model). */
  readonly cpuS: number;
  /** How much the shared CPUs stretch every execution: max(1, cpuS / cores / the latency makespan). */
  readonly stretch: number;
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

/** The sizes of the pieces the invocations are cut into at degree d, in dispatch order (batches first). */
export function pieceSizes(problem: PackingProblem, degree: number): number[] {
  const sizes: number[] = [];
  const batch = problem.batchSize ?? problem.invocations;
  for (let left = problem.invocations; left > 0; left -= batch) {
    for (let inBatch = Math.min(batch, left); inBatch > 0; inBatch -= degree) sizes.push(Math.min(degree, inBatch));
  }
  return sizes;
}

/** CPU-seconds a burst packed d per instance on n instances takes; 0 without a CPU model. */
export function cpuSeconds(problem: PackingProblem, degree: number, instances: number): number {
  return cpuOf(problem, pieceSizes(problem, degree).length, instances);
}

function cpuOf(problem: PackingProblem, pieces: number, instances: number): number {
  const c = problem.cpu;
  if (!c) return 0;
  return instances * c.instanceS + pieces * c.pieceS + problem.invocations * c.invocationS;
}

/**
 * The completion time of every invocation, ascending, when packed d per instance on n instances (default:
 * as many as there are pieces, within the cap): the latency model's, stretched when the CPU-seconds cannot
 * run on the cores by its makespan.
 */
export function completionTimes(problem: PackingProblem, degree: number, instances?: number): Float64Array {
  const sizes = pieceSizes(problem, degree);
  const n = instances ?? mostInstances(problem, sizes.length);
  const done = pieceCompletions(problem, sizes, n);
  return invocationCompletions(done, sizes, stretchOf(problem, sizes.length, n, maxOf(done)));
}

function stretchOf(problem: PackingProblem, pieces: number, instances: number, latencyMakespanS: number): number {
  if (!problem.cpu) return 1;
  const floorS = cpuOf(problem, pieces, instances) / problem.cpu.cores;
  return latencyMakespanS > 0 ? Math.max(1, floorS / latencyMakespanS) : 1;
}

/**
 * ProPack's completion of each piece (with rounds over the instances and the piece overhead), the CPUs
 * unbounded, in dispatch order: piece p goes to instance p mod n, which takes its pieces one after the
 * other from when it is up.
 */
function pieceCompletions(problem: PackingProblem, sizes: readonly number[], instances: number): Float64Array {
  const h = problem.pieceOverheadS ?? 0;
  const pieceTime = (d: number) => (problem.round ? problem.round.at(d) : problem.service.at(d) + h);
  const clock = Array.from({ length: instances }, (_, k) => problem.scaling.at(k + 1));
  const out = new Float64Array(sizes.length);
  sizes.forEach((size, p) => {
    const k = p % instances;
    clock[k] += pieceTime(size);
    out[p] = clock[k];
  });
  return out;
}

/** Every invocation's completion (its piece's, stretched), ascending. */
function invocationCompletions(pieceDone: Float64Array, sizes: readonly number[], stretch: number): Float64Array {
  const out = new Float64Array(sizes.reduce((a, b) => a + b, 0));
  let i = 0;
  sizes.forEach((size, p) => out.fill(pieceDone[p] * stretch, i, (i += size)));
  return out.sort();
}

function maxOf(xs: Float64Array): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  return max;
}

/** One instance per piece, within the measured cap: ProPack's (and the node's own) scale-up. */
function mostInstances(problem: PackingProblem, pieces: number): number {
  return Math.min(pieces, problem.maxInstances ?? Infinity);
}

/**
 * The instances worth asking for at degree d. Without a CPU model, as many as there are pieces (within the
 * cap): more instances only ever shorten the latency model's makespan. With one, each instance costs its
 * start-up on the shared cores, and fewer, each serving more rounds of pieces, can end the burst sooner:
 * the count with the shortest time by the settings' metric (the fewest on a tie). Candidates: every count
 * up to 32, then doublings, and the most.
 */
function instanceCandidates(problem: PackingProblem, pieces: number): number[] {
  const most = mostInstances(problem, pieces);
  if (!problem.cpu) return [most];
  const out: number[] = [];
  for (let n = 1; n <= Math.min(most, 32); n++) out.push(n);
  for (let n = 64; n < most; n *= 2) out.push(n);
  if (most > 32) out.push(most);
  return out;
}

/**
 * The prediction at degree d on the instances that finish soonest (instanceCandidates). The planner runs
 * at every flush of a burst: candidates are compared by the makespan of their pieces, and the invocations'
 * sorted completions are only built for a median or tail metric and for the chosen count.
 */
export function predict(problem: PackingProblem, degree: number, settings: PackingSettings = DEFAULT_PACKING_SETTINGS): Omit<DegreePrediction, "score"> {
  const sizes = pieceSizes(problem, degree);
  const candidates = instanceCandidates(problem, sizes.length);
  let best = candidates[0];
  if (candidates.length > 1) {
    let bestTime = Infinity;
    for (const n of candidates) {
      const done = pieceCompletions(problem, sizes, n);
      const makespan = maxOf(done);
      const stretch = stretchOf(problem, sizes.length, n, makespan);
      const time = settings.metric === "total" ? makespan * stretch : metricOf(invocationCompletions(done, sizes, stretch), settings);
      if (time < bestTime) [best, bestTime] = [n, time];
    }
  }
  return predictOn(problem, degree, sizes, best, settings);
}

function metricOf(sorted: Float64Array, settings: PackingSettings): number {
  if (settings.metric === "total") return sorted[sorted.length - 1];
  return nearestRank(sorted, settings.metric === "median" ? 50 : settings.tailPercentile);
}

function predictOn(problem: PackingProblem, degree: number, sizes: readonly number[], instances: number, settings: PackingSettings): Omit<DegreePrediction, "score"> {
  const pieces = sizes.length;
  const serviceS = problem.service.at(degree);
  const pieceS = problem.billed ? problem.billed.at(degree) : serviceS + (problem.pieceOverheadS ?? 0);
  const pieceDone = pieceCompletions(problem, sizes, instances);
  const stretch = stretchOf(problem, pieces, instances, maxOf(pieceDone));
  const done = invocationCompletions(pieceDone, sizes, stretch);
  const totalS = done[done.length - 1];
  const medianS = nearestRank(done, 50);
  const tailS = nearestRank(done, settings.tailPercentile);
  const timeS = metricOf(done, settings);
  // Every piece is billed for its time on its instance, which the shared CPUs stretch.
  const costUsd = pieceS * stretch * pieces * (problem.memoryMb / 1024) * settings.usdPerGbSecond;
  return { degree, pieces, instances, serviceS, pieceS, cpuS: cpuOf(problem, pieces, instances), stretch, totalS, medianS, tailS, timeS, costUsd };
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
  if (p.cpu) checkCpuCapacity(p.cpu);
  if (p.batchSize !== undefined && !(Number.isInteger(p.batchSize) && p.batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${p.batchSize}`);
}

export function checkCpuCapacity(c: CpuCapacity): void {
  if (!(Number.isFinite(c.cores) && c.cores > 0)) throw new RangeError(`cpu.cores must be positive, got ${c.cores}`);
  for (const k of ["instanceS", "pieceS", "invocationS"] as const) {
    if (!(Number.isFinite(c[k]) && c[k] >= 0)) throw new RangeError(`cpu.${k} must be a finite CPU time ≥ 0, got ${c[k]}`);
  }
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
