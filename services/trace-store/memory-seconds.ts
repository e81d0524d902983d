// Memory-time accounting: how many MB·s the containers held inside a time window. A container holds its
// memory limit from its first event to its REMOVED event; the limit may change during its life (a zygote
// lent as a helper is resized with `docker update`), so a lifetime carries the limits it had, by time.
// All instants are Unix microseconds as plain numbers (exact up to 2^53 µs, i.e. year 2255).

export interface MemoryLimitChange {
  /** From when the limit applies. */
  readonly fromUs: number;
  readonly memoryMb: number;
}

export interface ContainerLifetime {
  readonly createdAtUs: number;
  /** Null while the container exists. */
  readonly removedAtUs: number | null;
  /** Ascending by fromUs. Before the first change the first known limit applies. Empty = unknown (counts 0). */
  readonly limits: readonly MemoryLimitChange[];
}

/** Open bounds are null. since is inclusive, until exclusive (irrelevant for a measure of time). */
export interface TimeWindow {
  readonly sinceUs: number | null;
  readonly untilUs: number | null;
}

const US_PER_SECOND = 1_000_000;

/** The part of [start, end) inside [from, to), in µs; 0 when they do not overlap. */
export function overlapUs(start: number, end: number, from: number, to: number): number {
  return Math.max(0, Math.min(end, to) - Math.max(start, from));
}

/**
 * MB·s of one container inside the window. A lifetime still open ends now: time that has not happened
 * yet is never charged, even when the window reaches into the future.
 */
export function lifetimeMbSeconds(lifetime: ContainerLifetime, window: TimeWindow, nowUs: number): number {
  const { limits } = lifetime;
  if (limits.length === 0) return 0;
  const end = lifetime.removedAtUs ?? nowUs;
  const from = Math.max(lifetime.createdAtUs, window.sinceUs ?? -Infinity);
  const to = Math.min(end, window.untilUs ?? Infinity);
  if (to <= from) return 0;
  let mbUs = 0;
  for (let i = 0; i < limits.length; i++) {
    // The first limit also covers any time before it was reported.
    const segmentStart = i === 0 ? -Infinity : limits[i].fromUs;
    const segmentEnd = i + 1 < limits.length ? limits[i + 1].fromUs : Infinity;
    mbUs += overlapUs(segmentStart, segmentEnd, from, to) * limits[i].memoryMb;
  }
  return mbUs / US_PER_SECOND;
}

/** Sum of lifetimeMbSeconds over the containers. */
export function memoryMbSeconds(lifetimes: Iterable<ContainerLifetime>, window: TimeWindow, nowUs: number): number {
  let total = 0;
  for (const lifetime of lifetimes) total += lifetimeMbSeconds(lifetime, window, nowUs);
  return total;
}
