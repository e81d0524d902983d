// Start-up policies decide, the pool applies (Knative's decider/actuator split). A policy is a pure
// function of what the node observes and the time: no Docker, no timers, so tests drive it with a fake clock.
import type { ContainerRole, ContainerState } from "../container.js";

import type { Packages } from "../../../common/package-sets.js";

export { covers, type Packages } from "../../../common/package-sets.js";

export interface ContainerView {
  readonly id: string;
  /** The function it serves; "" for a zygote or a stem cell. */
  readonly functionName: string;
  readonly role: ContainerRole;
  readonly state: ContainerState;
  readonly inflight: number;
  readonly memoryMb: number;
  readonly lastUsedAt: number;
  readonly createdAt: number;
  /** When it took its current role (a zygote since its conversion, a helper since its lending). */
  readonly roleSince: number;
  /** The package set its image holds (empty for the plain runtime image). */
  readonly packages: Packages;
  /** For a zygote: the function whose executor it was (its "lender" function); "" otherwise. */
  readonly formerFunction: string;
}

/** What the node knows of one prepared function: its dependencies and its recent history. */
export interface FunctionView {
  readonly name: string;
  readonly dependencies: Packages;
  readonly memoryMb: number;
  /** Arrival instants (ms), oldest first, at most the last few hundred. */
  readonly arrivals: readonly number[];
  /**
   * Parallel to arrivals: how many containers the function's invocations needed at that arrival (those
   * running, queued or riding a fork, this one included, over its per-container concurrency). An arrival
   * without an entry counts as needing one.
   */
  readonly arrivalLevels: readonly number[];
  /**
   * Idle times (ms), oldest first: from the moment the function had nothing running to its next arrival
   * ("Serverless in the Wild"'s idle time). At most the last few hundred.
   */
  readonly idleTimesMs: readonly number[];
  /** When its invocations last started a container from nothing (COLD), oldest first, recent ones only. */
  readonly coldStarts: readonly number[];
  /** When it last had nothing running (undefined while something runs or it never ran). */
  readonly idleSince: number | undefined;
}

/** A package set a zygote can be started from (zygote-builder's plan). */
export interface PackageSetView {
  readonly id: string;
  readonly image: string;
  readonly packages: Packages;
  readonly functions: readonly string[];
}

export interface NodeView {
  readonly containers: readonly ContainerView[];
  readonly functions: readonly FunctionView[];
  readonly memoryCapacityMb: number;
  /** SOCK's popular-package set, once zygote-builder has built its image. */
  readonly popularSet: PackageSetView | undefined;
  /** The package sets the node's functions build from (zygote-builder's plan, as far as it concerns them). */
  readonly packageSets: readonly PackageSetView[];
}

export type PolicyAction =
  /** Stop and remove an idle container. */
  | { readonly kind: "remove"; readonly containerId: string; readonly reason: string }
  /** Turn an idle executor into a zygote in place (Pagurus). */
  | { readonly kind: "become-zygote"; readonly containerId: string; readonly reason: string }
  /** Start a generic runtime container holding an empty template (OpenWhisk stem cell). */
  | { readonly kind: "start-stem-cell"; readonly reason: string }
  /** Start a zygote container of a package set (SOCK's popular set, or one of packageSets). */
  | { readonly kind: "start-zygote"; readonly setId: string; readonly reason: string }
  /** Start an executor of a function ahead of its expected arrival (hybrid histogram's pre-warm). */
  | { readonly kind: "prewarm-executor"; readonly functionName: string; readonly reason: string };

export interface StartupPolicy {
  readonly name: string;
  /** Actions to take now. Called on every reaper tick (about once a second) and after lendings. */
  decide(view: NodeView, nowMs: number): PolicyAction[];
  /**
   * Which idle zygote or stem cell to lend to the renter, from candidates that cover it (the pool checks
   * coverage); undefined to lend none and start a container instead. Policies that never create zygotes
   * or stem cells leave it out.
   */
  chooseLender?(renter: FunctionView, candidates: readonly ContainerView[], view: NodeView, nowMs: number): string | undefined;
  /**
   * Which idle executor or helper of another function to turn into a zygote now and lend to the renter, from
   * candidates whose image covers it (the pool checks coverage, tenancy and memory); undefined to convert none.
   * Asked only when the renter would otherwise start a container cold: no zygote or stem cell can be lent to
   * it and planStarts gave it a start. Policies that never convert on demand leave it out.
   */
  convertForRenter?(renter: FunctionView, candidates: readonly ContainerView[], view: NodeView, nowMs: number): string | undefined;
}
