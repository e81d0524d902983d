// Results of async invocations, kept in memory for a while after they finish, with long-poll waiters.
// (Durable async invocations, stored in JetStream before they are acknowledged, are a later issue.)
import type { InvokeResponse } from "../../gen/faas/gateway/v1/gateway_pb.js";

interface Entry {
  result: InvokeResponse | undefined;
  /** When a finished entry may be forgotten (ms since epoch); pending entries never expire. */
  expiresAt: number;
  readonly waiters: Set<() => void>;
}

export class AsyncResults {
  readonly #entries = new Map<string, Entry>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(private readonly ttlMs: number) {
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(ttlMs, 60_000));
    this.#sweeper.unref();
  }

  get pending(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (!e.result) n++;
    return n;
  }

  accept(invocationId: string): void {
    this.#entries.set(invocationId, { result: undefined, expiresAt: Infinity, waiters: new Set() });
  }

  complete(invocationId: string, result: InvokeResponse): void {
    const e = this.#entries.get(invocationId);
    if (!e) return;
    e.result = result;
    e.expiresAt = Date.now() + this.ttlMs;
    for (const w of e.waiters) w();
    e.waiters.clear();
  }

  /** undefined: unknown id (never accepted, or expired). Waits up to waitMs for a pending one. */
  async get(invocationId: string, waitMs: number, signal: AbortSignal): Promise<{ result: InvokeResponse | undefined } | undefined> {
    const e = this.#entries.get(invocationId);
    if (!e) return undefined;
    if (!e.result && waitMs > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          e.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener("abort", done);
        e.waiters.add(done);
      });
    }
    return { result: e.result };
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(id);
  }
}
