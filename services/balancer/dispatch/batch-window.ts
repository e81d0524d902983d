// How long a function's dispatch queue holds its first waiting invocation to gather a batch (FaaSBatch's
// dispatch window). Fixed, or adaptive: a batch that gathered company is a sign of load and the window
// widens (doubling, up to a cap), as do arrivals closer together than its smallest width when it is
// zero; a batch that closed alone means waiting bought nothing and the window halves, down to zero;
// after a pause in arrivals it is zero at once, so an idle function pays no wait.
// Zero still gathers what arrives in the same turn of the event loop (a burst is one batch).

export interface AdaptiveWindowSettings {
  /** The first non-zero width, and the width under which a halving goes to zero. */
  readonly stepMs: number;
  readonly maxMs: number;
  /** No arrival for this long: the window is zero. */
  readonly idleResetMs: number;
}

export const DEFAULT_ADAPTIVE_WINDOW: AdaptiveWindowSettings = { stepMs: 2, maxMs: 50, idleResetMs: 1000 };

export interface BatchWindow {
  /** The width now: a batch opened now is due this long after its first member arrived. */
  readonly currentMs: number;
  /** An invocation arrived. */
  arrived(nowMs: number): void;
  /** A batch closed with this many members. */
  closed(size: number): void;
}

export class FixedWindow implements BatchWindow {
  constructor(readonly currentMs: number) {
    if (!(currentMs >= 0 && Number.isFinite(currentMs))) throw new RangeError(`a window is a finite number of ms ≥ 0, got ${currentMs}`);
  }
  arrived(): void {}
  closed(): void {}
}

export class AdaptiveWindow implements BatchWindow {
  #ms = 0;
  #lastArrival = Number.NEGATIVE_INFINITY;

  constructor(readonly settings: AdaptiveWindowSettings = DEFAULT_ADAPTIVE_WINDOW) {
    const { stepMs, maxMs, idleResetMs } = settings;
    if (!(stepMs > 0 && maxMs >= stepMs && idleResetMs > 0)) throw new RangeError(`adaptive window needs 0 < stepMs ≤ maxMs and idleResetMs > 0, got ${stepMs}, ${maxMs}, ${idleResetMs}`);
  }

  get currentMs(): number {
    return this.#ms;
  }

  arrived(nowMs: number): void {
    const gap = nowMs - this.#lastArrival;
    if (gap >= this.settings.idleResetMs) this.#ms = 0;
    // Arrivals closer than the smallest window: waiting one step would have batched them.
    else if (this.#ms === 0 && gap < this.settings.stepMs) this.#ms = this.settings.stepMs;
    this.#lastArrival = nowMs;
  }

  closed(size: number): void {
    const { stepMs, maxMs } = this.settings;
    if (size >= 2) this.#ms = Math.min(maxMs, Math.max(stepMs, this.#ms * 2));
    else {
      const half = this.#ms / 2;
      this.#ms = half < stepMs ? 0 : half;
    }
  }
}
