// buildWorkload: a trace source and options in, a deterministic replay plan out. Same arguments, same
// arrivals: every random choice comes from streams derived from the seed.
import { evenOverWindow, evenPerMinute, poissonOverWindow, poissonPerMinute, stochasticRound } from "./arrivals.js";
import type { Arrival, TraceFunction, Workload } from "./model.js";
import { checkOptions, type ArrivalModel, type WorkloadOptions } from "./options.js";
import { streamFor, type Random } from "./prng.js";
import { sampleFunctions } from "./sampling.js";
import type { WorkloadSource } from "./source.js";
import { resolveWindow, type TraceWindow } from "./window.js";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** A function that may be sampled, with how its arrivals would be made. */
interface Candidate {
  readonly id: string;
  readonly app: string;
  readonly dailyCount: number;
  readonly function: TraceFunction;
  /** Exact for counted models, the expectation for random ones. */
  readonly expectedArrivals: number;
  /** Trace ms from the window start, ascending. */
  readonly times: (random: Random) => number[];
}

interface Plan {
  readonly candidates: readonly Candidate[];
  readonly exactCount: boolean;
  readonly modelDescription: string;
  readonly candidatesDescription: string;
}

export function buildWorkload(source: WorkloadSource, options: WorkloadOptions): Workload {
  const { seed, sample, compression, maxArrivals } = checkOptions(options);
  const window = resolveWindow(options.window, source);
  const plan = planArrivals(source, window, options.arrivals);

  const { chosen, description: sampleDescription } = sampleFunctions(plan.candidates, sample, streamFor(seed, "sample"));
  const expected = chosen.reduce((sum, c) => sum + c.expectedArrivals, 0);
  const tooMany = (what: string) =>
    new RangeError(`workload ${what}, more than maxArrivals ${maxArrivals}: sample fewer functions, narrow the window, or raise maxArrivals`);
  if (expected > maxArrivals) {
    throw tooMany(plan.exactCount ? `would have ${expected} arrivals` : `would have about ${Math.round(expected)} arrivals`);
  }

  const arrivals: Arrival[] = [];
  for (const candidate of chosen) {
    for (const t of candidate.times(streamFor(seed, `arrivals:${candidate.id}`))) {
      arrivals.push({ functionId: candidate.id, atMs: t / compression });
    }
    if (arrivals.length > maxArrivals) {
      throw tooMany(`drew ${arrivals.length} arrivals before finishing (about ${Math.round(expected)} expected)`);
    }
  }
  // Stable: equal times keep rank order.
  arrivals.sort((a, b) => a.atMs - b.atMs);

  const windowMs = window.endMs - window.startMs;
  const durationMs = windowMs / compression;
  const description = [
    `source ${source.name}${plan.candidatesDescription}`,
    `sample ${sampleDescription}`,
    `window ${window.label}`,
    `compression ${compression}x: ${windowMs / 1000} s of trace replayed in ${durationMs / 1000} s`,
    `arrivals ${plan.modelDescription}`,
    `seed ${seed}`,
    `${chosen.length} functions, ${arrivals.length} arrivals`,
  ].join("; ");
  return { functions: chosen.map((c) => c.function), arrivals, durationMs, description };
}

function planArrivals(source: WorkloadSource, window: TraceWindow, model: ArrivalModel | undefined): Plan {
  const lengthMs = window.endMs - window.startMs;
  if (source.kind === "recorded") {
    if (model !== undefined) {
      throw new RangeError(`arrivals "${model}" does not apply to "${source.name}": it has the recorded start times; leave arrivals unset`);
    }
    return recordedPlan(source.functions, window);
  }
  if (model === undefined) {
    throw new RangeError(`arrivals must be "even" or "poisson" for "${source.name}": it has counts, not start times`);
  }
  if (source.kind === "per-minute") {
    const [startMinute, endMinute] = [window.startMs / MINUTE_MS, window.endMs / MINUTE_MS];
    return {
      exactCount: model === "even",
      modelDescription:
        model === "even"
          ? "even: each minute's count spread evenly inside the minute"
          : "poisson: exponential inter-arrivals at each minute's count per minute",
      candidatesDescription: "",
      candidates: source.functions.map(({ function: f, perMinute }) => ({
        id: f.id,
        app: f.app,
        dailyCount: f.dailyCount,
        function: f,
        expectedArrivals: perMinute.subarray(startMinute, endMinute).reduce((sum, c) => sum + c, 0),
        times: model === "even" ? () => evenPerMinute(perMinute, startMinute, endMinute) : (random) => poissonPerMinute(perMinute, startMinute, endMinute, random),
      })),
    };
  }
  // Daily totals: a constant rate of Count/1440 per minute over the window.
  return {
    exactCount: false,
    modelDescription:
      model === "even"
        ? "even: Count·window/1440 per function (rounded up with probability equal to the fraction) spread evenly over the window"
        : "poisson: a Poisson process at Count/1440 per minute",
    candidatesDescription: "",
    candidates: source.functions.map((f) => {
      const expectedArrivals = (f.dailyCount * lengthMs) / DAY_MS;
      return {
        id: f.id,
        app: f.app,
        dailyCount: f.dailyCount,
        function: f,
        expectedArrivals,
        times:
          model === "even"
            ? (random: Random) => evenOverWindow(stochasticRound(expectedArrivals, random), lengthMs)
            : (random: Random) => poissonOverWindow(f.dailyCount / DAY_MS, lengthMs, random),
      };
    }),
  };
}

/** 2021: the real start times inside the window; functions not invoked in it are not candidates. */
function recordedPlan(functions: Extract<WorkloadSource, { kind: "recorded" }>["functions"], window: TraceWindow): Plan {
  const candidates: Candidate[] = [];
  for (const { function: f, startsS } of functions) {
    const from = lowerBound(startsS, window.startMs / 1000);
    const to = lowerBound(startsS, window.endMs / 1000);
    if (from === to) continue;
    const inWindow = startsS.subarray(from, to);
    const fn: TraceFunction = { ...f, dailyCount: inWindow.length };
    candidates.push({
      id: f.id,
      app: f.app,
      dailyCount: inWindow.length,
      function: fn,
      expectedArrivals: inWindow.length,
      times: () => Array.from(inWindow, (s) => s * 1000 - window.startMs),
    });
  }
  return {
    exactCount: true,
    modelDescription: "recorded: the trace's start times (end_timestamp − duration)",
    candidatesDescription: ` (${candidates.length} of ${functions.length} functions invoked in the window)`,
    candidates,
  };
}

/** First index whose value is ≥ x, in an ascending array. */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
