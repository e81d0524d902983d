// The cost model's time: a serverless bill charges each instance for the time it executes, not for the
// time it sits warm. Per container, the union of its invocations' execution intervals (members of one
// packed piece overlap and are billed once), summed over containers.

export interface ExecutionInterval {
  readonly containerId: string;
  readonly startUs: number;
  readonly endUs: number;
}

/** Seconds of execution billed: per container, the length of the union of its intervals; summed. */
export function billedSeconds(intervals: readonly ExecutionInterval[]): number {
  const byContainer = new Map<string, ExecutionInterval[]>();
  for (const i of intervals) {
    if (!(i.endUs > i.startUs)) continue;
    const list = byContainer.get(i.containerId);
    if (list) list.push(i);
    else byContainer.set(i.containerId, [i]);
  }
  let totalUs = 0;
  for (const list of byContainer.values()) {
    list.sort((a, b) => a.startUs - b.startUs);
    let [from, to] = [list[0].startUs, list[0].endUs];
    for (const i of list.slice(1)) {
      if (i.startUs > to) {
        totalUs += to - from;
        [from, to] = [i.startUs, i.endUs];
      } else to = Math.max(to, i.endUs);
    }
    totalUs += to - from;
  }
  return totalUs / 1e6;
}
