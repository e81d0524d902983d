// When invocations wait for a container slot, how many containers to start and for which function first.
// Pure: the pool hands in what it observes and applies the answer. Three rules keep a burst from turning
// into a start storm (every arrival during a slow start creating one more container, which slows every
// start further, until nothing finishes):
//   - slots of containers already starting count against the waiting invocations before a new start;
//   - at most `maxStarts` containers start at once on a node; the rest of the demand waits its turn,
//     and a slot that frees meanwhile in a running container serves the oldest waiter first;
//   - when the node's CPUs are saturated, only functions with no container at all get one: a start costs
//     about a CPU-second, and another container of a function that has some cannot add CPU, only share it.
//     A waiter is held back at most SATURATED_DEFER_MS; after that its function gets one start at a
//     time again (its containers may be held by long invocations that are not what saturates the CPU).

export interface FunctionDemand {
  /** Name and digest: the queue's key. */
  readonly key: string;
  /** Invocations waiting for a slot. */
  readonly queued: number;
  /** Containers of this function being started now. */
  readonly starting: number;
  /** Containers of this function up and running (busy or idle). */
  readonly running: number;
  readonly maxConcurrency: number;
  /** When its oldest waiter arrived (any monotonic unit). */
  readonly oldestWaitingSince: number;
  /** How long its oldest waiter has waited. */
  readonly oldestWaitMs: number;
}

export const SATURATED_DEFER_MS = 2000;

export interface StartPlan {
  readonly key: string;
  readonly count: number;
}

/** Containers one function needs started now, ignoring the node-wide limit. */
export function uncoveredContainers(d: FunctionDemand): number {
  const uncovered = d.queued - d.starting * d.maxConcurrency;
  return uncovered <= 0 ? 0 : Math.ceil(uncovered / Math.max(1, d.maxConcurrency));
}

/**
 * Shares the free start slots among the functions with uncovered demand. A function with nothing running
 * goes first (its waiters cannot be served any other way), then the one waiting longest; each gets what it
 * needs before the next gets any.
 */
export function planStarts(demands: readonly FunctionDemand[], startsInFlight: number, maxStarts: number, cpuSaturated = false): StartPlan[] {
  let free = maxStarts - startsInFlight;
  if (free <= 0) return [];
  const order = demands
    .filter((d) => !cpuSaturated || d.running + d.starting === 0 || (d.starting === 0 && d.oldestWaitMs >= SATURATED_DEFER_MS))
    .map((d) => ({ d, need: cpuSaturated ? Math.min(1, uncoveredContainers(d)) : uncoveredContainers(d) }))
    .filter((x) => x.need > 0)
    .sort((a, b) => Number(a.d.running + a.d.starting > 0) - Number(b.d.running + b.d.starting > 0) || a.d.oldestWaitingSince - b.d.oldestWaitingSince);
  const plan: StartPlan[] = [];
  for (const { d, need } of order) {
    if (free <= 0) break;
    const count = Math.min(need, free);
    plan.push({ key: d.key, count });
    free -= count;
  }
  return plan;
}
