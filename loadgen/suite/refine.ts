// Closing the loop on the mapping: a model predicts, a measurement decides. Each mapped (function, work) is
// invoked warm a few times; when its median is off the trace's average by more than the tolerance, the
// work is corrected by the local slope of the function's model (a secant step) and measured again.
import { median } from "../../common/percentiles.js";
import type { DurationModel } from "./model.js";
import type { BenchFunction } from "./suite.js";

export interface RefineTarget {
  readonly key: string;
  readonly fn: BenchFunction;
  readonly model: DurationModel;
  readonly work: number;
  readonly targetMs: number;
}

export interface Refined {
  readonly fn: string;
  readonly work: number;
  readonly targetMs: number;
  /** Median warm exec time at the final work size. */
  readonly measuredMs: number;
  /** (measured - target) / target. */
  readonly error: number;
}

export interface RefineOptions {
  /** Correction rounds after the first measurement. */
  readonly rounds: number;
  /** Warm invocations per measurement; the median counts. */
  readonly repeats: number;
  /** Relative error accepted without correction. */
  readonly tolerance: number;
  readonly seed?: number;
}

/** The next work size: a step along the line through the measured point with the model's slope. Pure. */
export function correctWork(fn: BenchFunction, model: DurationModel, work: number, measuredMs: number, targetMs: number): number {
  // A proportional step where the model says duration is mostly per-work; the slope step otherwise.
  const variable = Math.max(measuredMs - model.fixedMs, 1e-6);
  const proportional = work * Math.max(targetMs - model.fixedMs, 1e-6) / variable;
  const next = Number.isFinite(proportional) && proportional > 0 ? proportional : work + (targetMs - measuredMs) / Math.max(model.perWorkMs, 1e-9);
  return Math.min(fn.work.max, Math.max(fn.work.min, Number(next.toPrecision(6))));
}

export async function refineMapping(
  targets: readonly RefineTarget[],
  invoke: (fn: string, payload: Uint8Array) => Promise<number>,
  o: RefineOptions,
): Promise<Map<string, Refined>> {
  const encoder = new TextEncoder();
  const measure = async (fn: BenchFunction, work: number) => {
    const runs: number[] = [];
    for (let i = 0; i < o.repeats; i++) runs.push(await invoke(fn.name, encoder.encode(JSON.stringify(fn.payload(work, o.seed ?? 1)))));
    return median(runs);
  };
  const warmed = new Set<string>();
  const out = new Map<string, Refined>();
  for (const t of targets) {
    if (!warmed.has(t.fn.name)) {
      await invoke(t.fn.name, encoder.encode(JSON.stringify(t.fn.payload(t.fn.work.min, o.seed ?? 1)))); // the cold start, not measured
      warmed.add(t.fn.name);
    }
    let work = t.work;
    let measured = await measure(t.fn, work);
    for (let round = 0; round < o.rounds && Math.abs(measured - t.targetMs) / t.targetMs > o.tolerance; round++) {
      const next = correctWork(t.fn, t.model, work, measured, t.targetMs);
      if (next === work) break; // clamped at the end of the range
      work = next;
      measured = await measure(t.fn, work);
    }
    out.set(t.key, { fn: t.fn.name, work, targetMs: t.targetMs, measuredMs: measured, error: (measured - t.targetMs) / t.targetMs });
  }
  return out;
}
