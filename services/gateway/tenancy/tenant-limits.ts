// Per-tenant admission: a bound on invocations running at once and a token bucket on their rate. Pure
// bookkeeping over a Clock, so tests drive it with a fake one; the gateway turns a refusal into
// RESOURCE_EXHAUSTED with the hint computed here.
import type { Clock } from "../../../common/clock.js";
import type { QuotaValues } from "./tenant-store.js";

export type Admission =
  | { readonly admitted: true; release(): void }
  | { readonly admitted: false; readonly reason: string; readonly retryAfterMs: number };

/** A full tenant frees a slot when one of its invocations ends: we cannot know when, so we hint a short wait. */
export const CONCURRENCY_RETRY_MS = 100;

interface TenantState {
  running: number;
  tokens: number;
  refilledAtMs: number;
}

export class TenantLimiter {
  readonly #state = new Map<string, TenantState>();

  constructor(private readonly clock: Clock) {}

  /** Takes a token and a running slot for one invocation; release() gives the slot back. */
  admit(tenant: string, quota: QuotaValues): Admission {
    const s = this.#stateOf(tenant, quota);
    if (s.running >= quota.maxConcurrent) return full(s, tenant);
    return this.#takeToken(s, tenant, quota) ?? slot(s);
  }

  /** Takes a running slot only: an async attempt, whose token was taken when it was accepted. */
  admitSlot(tenant: string, quota: QuotaValues): Admission {
    const s = this.#stateOf(tenant, quota);
    return s.running >= quota.maxConcurrent ? full(s, tenant) : slot(s);
  }

  /** Takes a token only: an async invocation is rated when accepted and holds no slot while it is queued (admitSlot when it runs). */
  admitRate(tenant: string, quota: QuotaValues): Admission {
    const s = this.#stateOf(tenant, quota);
    return this.#takeToken(s, tenant, quota) ?? { admitted: true, release: () => {} };
  }

  running(tenant: string): number {
    return this.#state.get(tenant)?.running ?? 0;
  }

  #stateOf(tenant: string, quota: QuotaValues): TenantState {
    let s = this.#state.get(tenant);
    if (!s) {
      s = { running: 0, tokens: burstOf(quota), refilledAtMs: this.clock.now() };
      this.#state.set(tenant, s);
    }
    return s;
  }

  #takeToken(s: TenantState, tenant: string, quota: QuotaValues): Admission | undefined {
    const now = this.clock.now();
    const burst = burstOf(quota);
    s.tokens = Math.min(burst, s.tokens + ((now - s.refilledAtMs) * quota.ratePerSecond) / 1000);
    s.refilledAtMs = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return undefined;
    }
    const retryAfterMs = Math.max(1, Math.ceil(((1 - s.tokens) * 1000) / quota.ratePerSecond));
    return { admitted: false, reason: `tenant ${tenant} is over its rate of ${quota.ratePerSecond} invocations per second`, retryAfterMs };
  }
}

function full(s: TenantState, tenant: string): Admission {
  return { admitted: false, reason: `tenant ${tenant} has ${s.running} invocations running, its limit`, retryAfterMs: CONCURRENCY_RETRY_MS };
}

function slot(s: TenantState): Admission {
  s.running++;
  let released = false;
  return {
    admitted: true,
    release: () => {
      if (released) return;
      released = true;
      s.running--;
    },
  };
}

function burstOf(q: QuotaValues): number {
  return q.burst > 0 ? q.burst : q.ratePerSecond;
}
