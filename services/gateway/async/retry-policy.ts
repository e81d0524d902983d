// The pure decisions of durable async invocations: which outcomes are retried, the back-off schedule,
// and what a worker does with a message given the invocation's stored state. No I/O here: unit-tested.
import { InvocationStatus } from "../../../gen/faas/common/v1/common_pb.js";
import { AsyncEntryState, type AsyncEntry, type AsyncInvocation } from "../../../gen/faas/gateway/v1/async_pb.js";
import type { InvokeResponse } from "../../../gen/faas/gateway/v1/gateway_pb.js";

export interface RetryPolicy {
  /** Attempts in all (the first included) before an invocation is dead-lettered. */
  readonly maxAttempts: number;
  /** Delay after the first failed attempt; it doubles after each further one... */
  readonly backoffBaseMs: number;
  /** ...up to this. */
  readonly backoffMaxMs: number;
}

/**
 * Error types of a PLATFORM_ERROR outcome that say the invocation never reached the function, so running
 * it again cannot run it twice: the gateway could not reach the balancer or the balancer a node
 * (UNAVAILABLE), or there was no capacity (RESOURCE_EXHAUSTED from a full dispatch queue or a node with
 * no free slot in time). The gateway's invoker writes "Unavailable"/"NoCapacity"; a node answering a batch
 * member writes the gRPC code's name. Everything else is final: the function's own error or timeout,
 * and platform failures after which it may have run (PlatformTimeout, StartFailed — a lent fork may
 * have run it —, ContainerFailed, Internal).
 */
const NEVER_REACHED = new Set(["Unavailable", "NoCapacity", "ResourceExhausted"]);

/** True when the outcome is a platform failure that never reached the function: worth another attempt. */
export function isRetryable(r: Pick<InvokeResponse, "status" | "error">): boolean {
  return r.status === InvocationStatus.PLATFORM_ERROR && NEVER_REACHED.has(r.error?.type ?? "");
}

/** Delay before attempt `failedAttempts + 1`: base, 2·base, 4·base, ... capped at the maximum. */
export function backoffDelayMs(failedAttempts: number, p: Pick<RetryPolicy, "backoffBaseMs" | "backoffMaxMs">): number {
  if (failedAttempts < 1) return 0;
  // 2^30 is past any cap we accept; keeps the product a finite, exact number.
  return Math.min(p.backoffMaxMs, p.backoffBaseMs * 2 ** Math.min(failedAttempts - 1, 30));
}

/** The whole schedule: the delay after each failed attempt that is followed by another. */
export function backoffSchedule(p: RetryPolicy): number[] {
  return Array.from({ length: Math.max(0, p.maxAttempts - 1) }, (_, i) => backoffDelayMs(i + 1, p));
}

export type AttemptVerdict =
  /** The result stands (success, the function's own error or timeout, or a failure that may have run it). */
  | { readonly kind: "final" }
  /** Run it again after the delay. */
  | { readonly kind: "retry"; readonly delayMs: number }
  /** Retries ran out: to the dead-letter stream, with this reason. */
  | { readonly kind: "dead"; readonly reason: string };

/** What follows attempt number `attempt` (1-based) that ended with r. */
export function attemptVerdict(r: Pick<InvokeResponse, "status" | "error">, attempt: number, p: RetryPolicy): AttemptVerdict {
  if (!isRetryable(r)) return { kind: "final" };
  if (attempt >= p.maxAttempts) return { kind: "dead", reason: `${r.error?.type ?? "PlatformError"}: ${r.error?.message ?? ""} (after ${attempt} attempts)` };
  return { kind: "retry", delayMs: backoffDelayMs(attempt, p) };
}

export type ClaimDecision =
  /** Run attempt number `attempt`. */
  | { readonly kind: "run"; readonly attempt: number }
  /** Already finished (a redelivery, or a copy of an older generation): acknowledge without running. */
  | { readonly kind: "done" }
  /** Another worker holds a live claim: look again after the delay. */
  | { readonly kind: "busy"; readonly retryInMs: number }
  /** Its acceptance was withdrawn (InvokeAsync answered an error): drop it. */
  | { readonly kind: "withdrawn" }
  /** Its attempts ran out without an outcome (the gateways running it stopped): dead-letter it. */
  | { readonly kind: "exhausted"; readonly attempts: number };

/**
 * What a worker does with a delivered message, given the invocation's entry in the results bucket:
 * undefined when there is none (expired while it waited: its TTL is renewed on every write, so only an
 * invocation that waited longer than ASYNC_RESULT_TTL_MS), "deleted" for a tombstone (InvokeAsync failed
 * after storing it and withdrew it). `running` says whether this very gateway is running it now.
 */
export function claimDecision(entry: AsyncEntry | undefined | "deleted", inv: AsyncInvocation, nowMs: number, runningHere: boolean, p: RetryPolicy): ClaimDecision {
  if (entry === "deleted") return { kind: "withdrawn" };
  if (entry === undefined) return { kind: "run", attempt: 1 };
  if (entry.generation > inv.generation) return { kind: "done" };
  if (entry.generation < inv.generation) return { kind: "run", attempt: 1 };
  if (entry.state === AsyncEntryState.DONE) return { kind: "done" };
  if (entry.state === AsyncEntryState.RUNNING) {
    if (runningHere) return { kind: "busy", retryInMs: Math.max(1000, Number(entry.leaseUntilUnixMs) - nowMs) };
    const left = Number(entry.leaseUntilUnixMs) - nowMs;
    if (left > 0) return { kind: "busy", retryInMs: left + 100 };
  }
  if (entry.attempts >= p.maxAttempts) return { kind: "exhausted", attempts: entry.attempts };
  return { kind: "run", attempt: entry.attempts + 1 };
}
