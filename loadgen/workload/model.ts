// What a replay is made of: the functions to deploy and the timed arrivals to send. Produced by
// buildWorkload from a trace source; consumed by the load generator's driver and its reports.

export interface TraceFunction {
  /** HashFunction, or "app/func" for the 2021 trace. */
  readonly id: string;
  /** HashApp / app ("" when unknown, as in the daily summary). */
  readonly app: string;
  /** Trace average execution time. */
  readonly avgDurationMs: number;
  /** The app's average allocated memory when known. */
  readonly memoryMb?: number;
  /** Invocations in the source day (or in the window for 2021). */
  readonly dailyCount: number;
}

export interface Arrival {
  readonly functionId: string;
  /** Offset from replay start, after compression. */
  readonly atMs: number;
}

export interface Workload {
  readonly functions: readonly TraceFunction[];
  /** Sorted by atMs. */
  readonly arrivals: readonly Arrival[];
  /** Replay length after compression. */
  readonly durationMs: number;
  /** Human-readable: source, sample, window, compression, arrival model, seed. */
  readonly description: string;
}
