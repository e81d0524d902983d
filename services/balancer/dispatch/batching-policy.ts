// The batching policies a function's dispatch queue can follow: ours and the baselines it is compared with.
//   vanilla      one invocation per container at a time, no window (OpenWhisk's default)
//   window-only  FaaSBatch as published: everything that arrived within the window is one batch, in one
//                container, however many (no batch or container cap)
//   kraken       Kraken's rule: batch size floor(SLO / mean duration), at least 1, within the window
//   faasbatch    ours: an adaptive window, batches bounded by maxBatchSize, cut into pieces of the packing
//                degree (the planner's choice, within the container's concurrency)
import { AdaptiveWindow, FixedWindow, type AdaptiveWindowSettings, type BatchWindow } from "./batch-window.js";
import type { DispatchLimits } from "./dispatch-queue.js";

export const BATCHING_POLICIES = ["vanilla", "window-only", "kraken", "faasbatch"] as const;

/** faasbatch's batch bound unless BATCH_MAX_SIZE says otherwise. */
export const DEFAULT_BATCH_MAX_SIZE = 64;
export type BatchingPolicyName = (typeof BATCHING_POLICIES)[number];

export interface BatchingInputs {
  /** The fixed window of window-only and kraken, ms. */
  readonly windowMs: number;
  readonly adaptive: AdaptiveWindowSettings;
  readonly maxBatchSize: number;
  readonly maxQueued: number;
  /** Invocations one container of the function runs at once. */
  readonly containerConcurrency: number;
  /** The planner's packing degree; absent: the container's concurrency. */
  readonly packingDegree?: number;
  /** faasbatch: a function's pieces in flight at most, fixed; absent: the planner's instances, or unbounded. */
  readonly packingInstances?: number;
  /** kraken: the function's latency objective and its mean duration so far, ms. */
  readonly sloMs?: number;
  readonly meanDurationMs?: number;
}

export interface DispatchSetup {
  readonly window: BatchWindow;
  readonly limits: DispatchLimits;
}

/** Kraken's batch size, floor(SLO / mean duration), guarded: no mean yet or a zero mean, or an SLO below it, give 1. */
export function krakenBatchSize(sloMs: number | undefined, meanDurationMs: number | undefined): number {
  if (sloMs === undefined || meanDurationMs === undefined || !(meanDurationMs > 0) || !(sloMs > 0)) return 1;
  return Math.max(1, Math.floor(sloMs / meanDurationMs));
}

export function dispatchSetup(policy: BatchingPolicyName, i: BatchingInputs): DispatchSetup {
  switch (policy) {
    case "vanilla":
      return { window: new FixedWindow(0), limits: { maxBatchSize: 1, perContainer: 1, maxQueued: i.maxQueued } };
    case "window-only":
      return { window: new FixedWindow(i.windowMs), limits: { maxBatchSize: Infinity, perContainer: Infinity, maxQueued: i.maxQueued } };
    case "kraken": {
      const size = krakenBatchSize(i.sloMs, i.meanDurationMs);
      return { window: new FixedWindow(i.windowMs), limits: { maxBatchSize: size, perContainer: size, maxQueued: i.maxQueued } };
    }
    case "faasbatch": {
      const degree = Math.max(1, Math.min(i.packingDegree ?? i.containerConcurrency, i.containerConcurrency));
      return { window: new AdaptiveWindow(i.adaptive), limits: { maxBatchSize: i.maxBatchSize, perContainer: degree, maxQueued: i.maxQueued } };
    }
  }
}
