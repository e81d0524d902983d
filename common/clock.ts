// Time sources. Policies take a Clock so that tests drive them with a fake one.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Unix microseconds, for event and record timestamps. */
export function nowUnixUs(): bigint {
  return BigInt(Date.now()) * 1000n;
}

/** A monotonic stopwatch in microseconds, for measuring phases. */
export function stopwatch(): () => bigint {
  const start = process.hrtime.bigint();
  return () => (process.hrtime.bigint() - start) / 1000n;
}

export class FakeClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
