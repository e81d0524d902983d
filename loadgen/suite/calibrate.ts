// Calibration through a running gateway: per function, one cold invocation (discarded) and warm-ups, then
// `repeats` rounds of warm invocations over the points of its work range, back to back or spaced by an idle
// time; the model is fitted on the median server-side exec time (timings.execUs) of each point.
import { median } from "../../common/percentiles.js";
import { fitDurationModel, type DurationModel } from "./model.js";
import type { BenchFunction } from "./suite.js";

export type Invoke = (fn: string, payload: Uint8Array) => Promise<{ execUs: bigint; ok: boolean }>;

export interface CalibrateOptions {
  /** Points of the work range, as fractions in [0, 1] on a logarithmic scale (0 = work.min, 1 = work.max). */
  readonly points: readonly number[];
  /** Warm invocations per point; the median is the sample. */
  readonly repeats: number;
  /** Warm invocations discarded after the cold one (JIT warm-up); default 1. */
  readonly warmups?: number;
  readonly seed?: number;
  /**
   * Idle time before each invocation of a function; default 10 s, 0: back to back, one function after the
   * other. A worker idle for more than ~8 s runs its next invocation slower: up to 2x for a 50 ms run, a few % at
   * seconds (for JavaScript-heavy functions mostly V8's idle-time GC flushing bytecode and optimised code; node's
   * --no-flush-bytecode removes that part; hash-chain, mostly native crypto, slows too). Most
   * functions of a trace are invoked rarely, so the default measures that state; the functions are interleaved,
   * which makes the spacing cheap (~9 min for the suite, 5 points x 5 repeats, instead of ~6).
   */
  readonly idleMs?: number;
  readonly clock?: CalibrationClock;
  /** Told every measured (warm, kept) invocation. */
  readonly onSample?: (fn: string, work: number, execMs: number) => void;
}

/** The work size at fraction p of the range, geometrically: min·(max/min)^p (the ranges span decades). */
export function workAt(fn: BenchFunction, p: number): number {
  const f = Math.min(1, Math.max(0, p));
  return Number((fn.work.min * (fn.work.max / fn.work.min) ** f).toPrecision(6));
}

export const DEFAULT_IDLE_MS = 10_000;

/** For tests: the calibration's notion of time. */
export interface CalibrationClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
const realClock: CalibrationClock = { now: () => performance.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

interface Plan {
  readonly fn: BenchFunction;
  readonly works: number[];
  /** In order: the cold call and warm-ups (point -1: discarded), then `repeats` rounds over the points. */
  readonly calls: Array<{ readonly work: number; readonly point: number }>;
  readonly measured: number[][];
  next: number;
  readyAt: number;
}

export async function calibrate(invoke: Invoke, suite: ReadonlyArray<BenchFunction>, options: CalibrateOptions): Promise<Map<string, DurationModel>> {
  if (options.points.length === 0 || !(options.repeats >= 1)) throw new RangeError("calibrate needs at least one point and one repeat");
  const encoder = new TextEncoder();
  const seed = options.seed ?? 1;
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const clock = options.clock ?? realClock;
  const plans: Plan[] = suite.map((fn) => {
    const works = [...new Set(options.points.map((p) => workAt(fn, p)))].sort((a, b) => a - b);
    const calls = Array.from({ length: 1 + (options.warmups ?? 1) }, () => ({ work: works[0]!, point: -1 }));
    // Round-robin over the points, so a burst of load on the machine spreads over them instead of one point.
    for (let r = 0; r < options.repeats; r++) works.forEach((work, point) => calls.push({ work, point }));
    return { fn, works, calls, measured: works.map(() => []), next: 0, readyAt: 0 };
  });
  const step = async (plan: Plan): Promise<void> => {
    const { work, point } = plan.calls[plan.next++]!;
    const r = await invoke(plan.fn.name, encoder.encode(JSON.stringify(plan.fn.payload(work, seed))));
    if (!r.ok) throw new Error(`calibrating ${plan.fn.name}: the invocation at work ${work} failed`);
    plan.readyAt = clock.now() + idleMs;
    if (point < 0) return;
    const execMs = Number(r.execUs) / 1000;
    options.onSample?.(plan.fn.name, work, execMs);
    plan.measured[point]!.push(execMs);
  };
  if (idleMs <= 0) {
    for (const plan of plans) while (plan.next < plan.calls.length) await step(plan);
  } else {
    // One invocation at a time (they must not compete for CPUs), each function's spaced idleMs apart; the
    // others' invocations fill the gaps, so the spacing costs little time.
    for (;;) {
      const open = plans.filter((p) => p.next < p.calls.length);
      if (open.length === 0) break;
      const plan = open.reduce((a, b) => (b.readyAt < a.readyAt ? b : a));
      const wait = plan.readyAt - clock.now();
      if (wait > 0) await clock.sleep(wait);
      await step(plan);
    }
  }
  const models = new Map<string, DurationModel>();
  for (const plan of plans) models.set(plan.fn.name, fitDurationModel(plan.fn.name, plan.works.map((work, i) => ({ work, execMs: median(plan.measured[i]!) }))));
  return models;
}
