// Start-up policies decide, the pool applies (Knative's decider/actuator split). A policy is a pure
// function of what the node observes and the time: no Docker, no timers, so tests drive it with a fake clock.
import type { ContainerState } from "../container.js";

export interface ContainerView {
  readonly id: string;
  readonly functionName: string;
  readonly state: ContainerState;
  readonly inflight: number;
  readonly memoryMb: number;
  readonly lastUsedAt: number;
  readonly createdAt: number;
}

export interface NodeView {
  readonly containers: readonly ContainerView[];
  readonly memoryCapacityMb: number;
}

export type PolicyAction = { readonly kind: "remove"; readonly containerId: string; readonly reason: string };

export interface StartupPolicy {
  readonly name: string;
  /** Actions to take now. Called on every reaper tick. */
  decide(view: NodeView, nowMs: number): PolicyAction[];
}
