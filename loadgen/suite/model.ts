// Duration models of the suite's functions (the calibrated curve of exec time over work, and its linear fit
// execMs ≈ fixedMs + perWorkMs·work), the work size for a target duration, and the mapping of trace functions
// onto suite functions. All pure.
import { median } from "../../common/percentiles.js";
import type { BenchFunction } from "./suite.js";

export interface DurationSample {
  readonly work: number;
  readonly execMs: number;
}

export interface DurationModel {
  readonly fn: string;
  readonly fixedMs: number;
  readonly perWorkMs: number;
  readonly samples: ReadonlyArray<DurationSample>;
}

/** The slope given to a function whose duration did not grow with work: it is treated as constant. */
export const MIN_PER_WORK_MS = 1e-9;

/** Below this, durations are mostly noise (timer, JIT, a context switch): their samples weigh as if this long. */
export const WEIGHT_FLOOR_MS = 10;

/**
 * Fits execMs ≈ fixedMs + perWorkMs·work by least squares on relative errors (weights 1/max(execMs, 10 ms)²,
 * since samples span orders of magnitude and the mapping needs every duration within a percentage). Guards:
 * a slope ≤ 0 (or a single work size) makes the model constant (the weighted mean, with a tiny slope); a
 * negative intercept is refitted through the origin, since no duration is negative. Keeps the samples.
 */
export function fitDurationModel(fn: string, samples: ReadonlyArray<DurationSample>): DurationModel {
  const ok = samples.filter((s) => Number.isFinite(s.work) && s.work > 0 && Number.isFinite(s.execMs) && s.execMs >= 0);
  if (ok.length === 0) throw new RangeError(`${fn}: no usable samples (positive work, non-negative execMs)`);
  let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const { work: x, execMs: y } of ok) {
    const w = 1 / Math.max(y, WEIGHT_FLOOR_MS) ** 2;
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  const det = sw * sxx - sx * sx;
  let slope = det > 1e-12 * sw * sxx ? (sw * sxy - sx * sy) / det : 0;
  let intercept = (sy - slope * sx) / sw;
  if (!(slope > 0)) {
    slope = MIN_PER_WORK_MS;
    intercept = sy / sw;
  } else if (intercept < 0) {
    slope = sxy / sxx;
    intercept = 0;
  }
  return { fn, fixedMs: intercept, perWorkMs: Math.max(slope, MIN_PER_WORK_MS), samples: ok.map((s) => ({ work: s.work, execMs: s.execMs })) };
}

/**
 * The measured curve: the samples' medians per work size, sorted, made non-decreasing (pool-adjacent-violators),
 * so noise cannot make it fold back. Durations are not quite linear in work (a worker idle for a while pays a
 * re-optimisation cost that grows with work and then levels off; GC grows with heap size), so predictions follow
 * this curve between the calibrated points and the fitted slope beyond them.
 */
export function measuredCurve(model: DurationModel): DurationSample[] {
  const byWork = new Map<number, number[]>();
  for (const s of model.samples) byWork.set(s.work, [...(byWork.get(s.work) ?? []), s.execMs]);
  const blocks: Array<{ works: number[]; sum: number; n: number }> = [];
  for (const [work, values] of [...byWork].sort((a, b) => a[0] - b[0])) {
    blocks.push({ works: [work], sum: median(values), n: 1 });
    while (blocks.length > 1 && blocks.at(-2)!.sum / blocks.at(-2)!.n > blocks.at(-1)!.sum / blocks.at(-1)!.n) {
      const last = blocks.pop()!, prev = blocks.at(-1)!;
      prev.works.push(...last.works);
      prev.sum += last.sum;
      prev.n += last.n;
    }
  }
  return blocks.flatMap((b) => b.works.map((work) => ({ work, execMs: b.sum / b.n })));
}

/** Predicted exec time at `work`: along the measured curve, with the fitted slope beyond its ends (or the fit alone). */
export function predictMs(model: DurationModel, work: number): number {
  const curve = measuredCurve(model);
  if (curve.length < 2) return model.fixedMs + model.perWorkMs * work;
  const first = curve[0]!, last = curve.at(-1)!;
  if (work <= first.work) return Math.max(0, first.execMs - model.perWorkMs * (first.work - work));
  if (work >= last.work) return last.execMs + model.perWorkMs * (work - last.work);
  const i = curve.findIndex((s) => s.work >= work);
  const a = curve[i - 1]!, b = curve[i]!;
  return a.execMs + ((b.execMs - a.execMs) * (work - a.work)) / (b.work - a.work);
}

/** The predicted durations at the ends of the function's work range. */
export function durationRange(model: DurationModel, fn: BenchFunction): { minMs: number; maxMs: number } {
  return { minMs: predictMs(model, fn.work.min), maxMs: predictMs(model, fn.work.max) };
}

/** The work size whose predicted duration is targetMs (the inverse of predictMs), clamped to the function's range (6 significant digits). */
export function workFor(model: DurationModel, fn: BenchFunction, targetMs: number): number {
  const curve = measuredCurve(model);
  let raw: number;
  if (curve.length < 2) raw = (targetMs - model.fixedMs) / model.perWorkMs;
  else {
    const first = curve[0]!, last = curve.at(-1)!;
    if (targetMs <= first.execMs) raw = first.work - (first.execMs - targetMs) / model.perWorkMs;
    else if (targetMs >= last.execMs) raw = last.work + (targetMs - last.execMs) / model.perWorkMs;
    else {
      const i = curve.findIndex((s) => s.execMs >= targetMs); // first point at or above: a rising segment ends here
      const a = curve[i - 1]!, b = curve[i]!;
      raw = a.work + ((b.work - a.work) * (targetMs - a.execMs)) / (b.execMs - a.execMs);
    }
  }
  const work = Number.isFinite(raw) ? Number(raw.toPrecision(6)) : raw > 0 ? fn.work.max : fn.work.min;
  return Math.min(fn.work.max, Math.max(fn.work.min, work));
}

export interface TraceFunction {
  readonly id: string;
  readonly avgDurationMs: number;
  readonly memoryMb?: number;
}

export interface MappedFunction {
  readonly fn: string;
  readonly work: number;
  readonly predictedMs: number;
}

const TOLERANCE = 1e-9;
const keepMinimal = <T>(items: T[], score: (t: T) => number): T[] => {
  const scores = items.map(score);
  const best = Math.min(...scores);
  return items.filter((_, i) => scores[i] <= best + TOLERANCE);
};

/**
 * For each trace function, a suite function and a work size. Rules, in order:
 * 1. duration: the functions whose predicted range [at work.min, at work.max] contains the trace's average;
 *    when none does, the ones whose range comes nearest (ratio to the nearer end);
 * 2. memory, when the trace has it: the ones whose memoryMb is nearest to it (ratio);
 * 3. the one whose mid-range (geometric mean of the range's ends) is nearest to the average (ratio),
 *    then by name. Deterministic: the suite's order does not matter. Functions without a model are skipped.
 */
export function mapTraceFunctions(
  traceFns: ReadonlyArray<TraceFunction>,
  suite: ReadonlyArray<BenchFunction>,
  models: ReadonlyMap<string, DurationModel>,
): Map<string, MappedFunction> {
  const candidates = suite
    .filter((fn) => models.has(fn.name))
    .map((fn) => {
      const model = models.get(fn.name)!;
      const { minMs, maxMs } = durationRange(model, fn);
      return { fn, model, minMs, maxMs, midMs: Math.sqrt(Math.max(minMs, 1e-6) * maxMs) };
    })
    .sort((a, b) => (a.fn.name < b.fn.name ? -1 : a.fn.name > b.fn.name ? 1 : 0));
  if (candidates.length === 0) throw new RangeError("no suite function has a duration model");
  const logRatio = (a: number, b: number) => Math.abs(Math.log(Math.max(a, 1e-6) / Math.max(b, 1e-6)));
  const out = new Map<string, MappedFunction>();
  for (const t of traceFns) {
    const target = t.avgDurationMs;
    if (!(target > 0) || !Number.isFinite(target)) throw new RangeError(`trace function ${t.id}: avgDurationMs must be a positive number`);
    let pool = candidates.filter((c) => c.minMs <= target && target <= c.maxMs);
    if (pool.length === 0) pool = keepMinimal([...candidates], (c) => logRatio(target, Math.min(c.maxMs, Math.max(c.minMs, target))));
    const mem = t.memoryMb;
    if (mem !== undefined && mem > 0) pool = keepMinimal(pool, (c) => logRatio(c.fn.memoryMb, mem));
    const chosen = keepMinimal(pool, (c) => logRatio(target, c.midMs))[0]!;
    const work = workFor(chosen.model, chosen.fn, target);
    out.set(t.id, { fn: chosen.fn.name, work, predictedMs: predictMs(chosen.model, work) });
  }
  return out;
}
