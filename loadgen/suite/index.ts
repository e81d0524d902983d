// The benchmark suite: functions as data, duration models, trace mapping, calibration.
export { BENCH_DIR, SUITE, readBenchPackage, type BenchFunction } from "./suite.js";
export {
  MIN_PER_WORK_MS,
  WEIGHT_FLOOR_MS,
  durationRange,
  fitDurationModel,
  mapTraceFunctions,
  measuredCurve,
  predictMs,
  workFor,
  type DurationModel,
  type DurationSample,
  type MappedFunction,
  type TraceFunction,
} from "./model.js";
export { median } from "../../common/percentiles.js";
export { DEFAULT_IDLE_MS, calibrate, workAt, type CalibrateOptions, type CalibrationClock, type Invoke } from "./calibrate.js";
export { correctWork, refineMapping, type Refined, type RefineOptions, type RefineTarget } from "./refine.js";
