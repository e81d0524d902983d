// The knobs of buildWorkload and their validation: every bad value is refused with a message naming
// the option, the value and what is accepted, before any work is done.

export type SampleOption =
  /** Pagurus: rank by invocation count, K equal-size strata, N/K drawn uniformly from each. */
  | { readonly kind: "rank-stratified"; readonly functions: number; readonly strata: number }
  /** Whole apps drawn uniformly; all their functions kept. */
  | { readonly kind: "apps"; readonly apps: number }
  | { readonly kind: "all" };

/** Minutes of the day (per-minute and daily sources), or minutes/seconds from the trace start (2021). */
export type WindowOption =
  | { readonly startMinute: number; readonly endMinute: number }
  | { readonly startSecond: number; readonly endSecond: number };

export type ArrivalModel = "even" | "poisson";

export interface WorkloadOptions {
  readonly seed: number;
  /** Default { kind: "all" }. */
  readonly sample?: SampleOption;
  /** Default: the whole day (2019) or the whole trace (2021). Half-open [start, end). */
  readonly window?: WindowOption;
  /** Replay time = trace time / compression; ≥ 1, default 1. */
  readonly compression?: number;
  /** Required for sources without recorded start times, refused for the 2021 trace. */
  readonly arrivals?: ArrivalModel;
  /** Refuse (rather than truncate) a workload with more arrivals; default 1,000,000. */
  readonly maxArrivals?: number;
}

export const DEFAULT_MAX_ARRIVALS = 1_000_000;

export interface CheckedOptions {
  readonly seed: number;
  readonly sample: SampleOption;
  readonly compression: number;
  readonly maxArrivals: number;
}

export function checkOptions(options: WorkloadOptions): CheckedOptions {
  const { seed, sample = { kind: "all" }, compression = 1, maxArrivals = DEFAULT_MAX_ARRIVALS } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  if (!(Number.isFinite(compression) && compression >= 1)) {
    throw new RangeError(`compression must be a finite number ≥ 1, got ${compression}`);
  }
  if (!(Number.isSafeInteger(maxArrivals) && maxArrivals >= 1)) {
    throw new RangeError(`maxArrivals must be a positive integer, got ${maxArrivals}`);
  }
  if (options.arrivals !== undefined && options.arrivals !== "even" && options.arrivals !== "poisson") {
    throw new RangeError(`arrivals must be "even" or "poisson", got ${JSON.stringify(options.arrivals)}`);
  }
  checkSample(sample);
  return { seed, sample, compression, maxArrivals };
}

function checkSample(sample: SampleOption): void {
  const positive = (name: string, value: number) => {
    if (!(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`sample.${name} must be a positive integer, got ${value}`);
  };
  switch (sample.kind) {
    case "rank-stratified":
      positive("functions", sample.functions);
      positive("strata", sample.strata);
      if (sample.functions % sample.strata !== 0) {
        throw new RangeError(
          `sample.functions (${sample.functions}) must be a multiple of sample.strata (${sample.strata}) so every stratum gives the same number`,
        );
      }
      return;
    case "apps":
      positive("apps", sample.apps);
      return;
    case "all":
      return;
    default:
      throw new RangeError(`sample.kind must be "rank-stratified", "apps" or "all", got ${JSON.stringify((sample as { kind: unknown }).kind)}`);
  }
}
