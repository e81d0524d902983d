// Open-loop dispatch: every arrival is started at its time whether or not earlier ones have answered
// (a closed loop would slow down exactly when the platform does and hide its queueing). One timer is
// armed for the next due arrival; when it fires, everything due is started in one go. The lag of each
// start behind its intended time is kept: it is the replayer's own error, reported with every run.

export interface Scheduled<T> {
  readonly atMs: number;
  readonly item: T;
}

export interface DispatchStats {
  /** Per arrival, how late it was started (ms), in dispatch order. */
  readonly lagMs: Float64Array;
  readonly dispatched: number;
}

export interface SchedulerClock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
}

export const monotonicClock: SchedulerClock = { now: () => performance.now() };

/**
 * Starts fire(item) for every arrival at startMs + atMs (arrivals sorted by atMs). Resolves when all are
 * started (not when they finish); abort() stops dispatching early.
 */
export function dispatch<T>(
  arrivals: readonly Scheduled<T>[],
  fire: (item: T, index: number, lagMs: number) => void,
  options: { clock?: SchedulerClock; startMs?: number; signal?: AbortSignal } = {},
): Promise<DispatchStats> {
  const clock = options.clock ?? monotonicClock;
  const start = options.startMs ?? clock.now();
  const lag = new Float64Array(arrivals.length);
  let next = 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      options.signal?.removeEventListener("abort", finish);
      resolve({ lagMs: lag.subarray(0, next), dispatched: next });
    };
    options.signal?.addEventListener("abort", finish, { once: true });
    const tick = () => {
      timer = undefined;
      immediate = undefined;
      if (finished) return;
      if (options.signal?.aborted) return finish();
      const now = clock.now();
      while (next < arrivals.length && start + arrivals[next].atMs <= now) {
        const late = now - (start + arrivals[next].atMs);
        lag[next] = late;
        fire(arrivals[next].item, next, late);
        next++;
        if (finished) return; // fire() aborted the run
      }
      if (next >= arrivals.length) return finish();
      // Timers fire no earlier than asked and often ~1 ms later; within 1 ms spin on setImmediate instead.
      const wait = start + arrivals[next].atMs - clock.now();
      if (wait > 1.5) timer = setTimeout(tick, wait - 1);
      else immediate = setImmediate(tick);
    };
    tick();
  });
}
