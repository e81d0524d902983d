// Small pure helpers shared by the start-up policies. Time is plain milliseconds (the pool's clock).
import { sharedPackages } from "../../../common/package-sets.js";
import { nearestRank, sortedCopy } from "../../../common/percentiles.js";
import { ContainerState } from "../container.js";
import type { ContainerView, FunctionView, NodeView, Packages, PolicyAction } from "./policy.js";

/**
 * How long a container has been idle: since its last use (the pool stamps lastUsedAt when a slot is taken
 * and given back; a container never used keeps its creation time). Every policy measures idleness this way,
 * so a Pagurus zygote's keep-alive runs from its last invocation as an executor (its zygote time is part of
 * its keep-alive, not added to it) and the memory budget stays comparable with fixed keep-alive.
 */
export function idleMs(c: ContainerView, nowMs: number): number {
  return nowMs - c.lastUsedAt;
}

/** IDLE with nothing in flight: the only containers a policy may remove or convert. */
export function isIdle(c: ContainerView): boolean {
  return c.state === ContainerState.IDLE && c.inflight === 0;
}

/** Not on its way out: STARTING, IDLE or BUSY. */
export function isLive(c: ContainerView): boolean {
  return c.state === ContainerState.STARTING || c.state === ContainerState.IDLE || c.state === ContainerState.BUSY;
}

/**
 * Remove actions for idle containers (of the roles `applies` accepts) idle for at least their keep-alive:
 * keepAliveMs, one for all or each container's own.
 */
export function keepAliveRemovals(
  containers: readonly ContainerView[],
  nowMs: number,
  keepAliveMs: number | ((c: ContainerView) => number),
  applies: (c: ContainerView) => boolean = () => true,
): PolicyAction[] {
  const keepAliveOf = typeof keepAliveMs === "number" ? () => keepAliveMs : keepAliveMs;
  const actions: PolicyAction[] = [];
  for (const c of containers) {
    if (!applies(c) || !isIdle(c)) continue;
    const limit = keepAliveOf(c);
    if (idleMs(c, nowMs) >= limit) actions.push({ kind: "remove", containerId: c.id, reason: `idle for ${idleMs(c, nowMs)} ms >= keep-alive ${limit} ms` });
  }
  return actions;
}

/** Nearest-rank percentile (q in [0, 100]) of the values, in any order; undefined for no values. */
export function percentileNearestRank(values: readonly number[], q: number): number | undefined {
  return values.length === 0 ? undefined : nearestRank(sortedCopy(values), q);
}

/** Gaps between consecutive arrivals (arrivals are oldest first). */
export function interArrivalGaps(arrivals: readonly number[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < arrivals.length; i++) gaps.push(arrivals[i] - arrivals[i - 1]);
  return gaps;
}

/** Packages of the set the dependencies do not need (a zygote's waste for that renter). */
export function extraPackages(set: Packages, dependencies: Packages): number {
  return set.size - sharedPackages(set, dependencies);
}

export function samePackages(a: Packages, b: Packages): boolean {
  return a.size === b.size && sharedPackages(a, b) === a.size;
}

/** Cold starts of the function within the last windowMs (inclusive of the window's start). */
export function recentColdStarts(fn: FunctionView | undefined, nowMs: number, windowMs: number): number {
  if (!fn) return 0;
  let n = 0;
  for (const t of fn.coldStarts) if (t >= nowMs - windowMs && t <= nowMs) n++;
  return n;
}

export function functionsByName(view: NodeView): Map<string, FunctionView> {
  return new Map(view.functions.map((f) => [f.name, f]));
}

/** Deterministic id order (plain code-unit comparison, no locale). */
export function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function checkInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export function checkNumber(name: string, value: number, min: number, max = Infinity): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be a number in [${min}, ${max}], got ${value}`);
  return value;
}
