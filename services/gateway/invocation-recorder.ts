// Delivers one InvocationRecord per accepted invocation to trace-store. Records are buffered and sent in
// batches (one RPC and one SQLite transaction per batch instead of per invocation, off the response
// path); a failed batch stays at the head of the buffer and is retried with back-off, and trace-store
// de-duplicates by invocation id, so a retry after a lost acknowledgement stores nothing twice.
import type { Client } from "@connectrpc/connect";
import type { Logger } from "../../common/logger.js";
import type { InvocationRecord, TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";

export interface RecorderOptions {
  readonly client: Client<typeof TraceStoreService>;
  readonly logger: Logger;
  /** Longest a record waits before its batch is sent. */
  readonly flushIntervalMs: number;
  /** A batch is sent at once when this many records are waiting. */
  readonly maxBatch: number;
}

export class InvocationRecorder {
  #pending: InvocationRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #failures = 0;
  #delivered = 0;
  #added = 0;
  /** Waiters for the first `upTo` records ever added to be delivered (batches leave in order). */
  #waiters: Array<{ upTo: number; resolve: () => void }> = [];

  constructor(private readonly o: RecorderOptions) {}

  /** Records waiting to be delivered. */
  get backlog(): number {
    return this.#pending.length;
  }

  get delivered(): number {
    return this.#delivered;
  }

  add(record: InvocationRecord): void {
    this.#added++;
    this.#pending.push(record);
    if (this.#pending.length >= this.o.maxBatch && this.#failures === 0) this.#kick(0);
    else this.#kick(this.o.flushIntervalMs);
  }

  /**
   * Resolves true once every record added so far has reached trace-store, false at timeoutMs (they stay
   * buffered and retried). A durable async invocation waits for this before its message is acknowledged:
   * a gateway killed after the acknowledgement would otherwise take the record with it, and the
   * invocation, done, would never run again to make another.
   */
  recorded(timeoutMs: number): Promise<boolean> {
    const upTo = this.#added;
    if (this.#delivered >= upTo) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        upTo,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends everything waiting; resolves when the buffer is empty or rejects once deadlineMs passes. */
  async flush(deadlineMs: number): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0 || this.#sending) {
      if (Date.now() > deadlineMs) throw new Error(`${this.#pending.length} invocation records could not be delivered to trace-store`);
      if (this.#sending) await this.#sending;
      else await this.#send().catch(() => new Promise((r) => setTimeout(r, 200)));
    }
  }

  #kick(delayMs: number): void {
    if (this.#sending) return; // the running send re-arms the timer when it ends
    if (this.#timer && delayMs > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send().catch(() => {});
    }, delayMs);
  }

  #send(): Promise<void> {
    const batch = this.#pending.slice(0, this.o.maxBatch);
    if (batch.length === 0) return Promise.resolve();
    this.#sending = (async () => {
      try {
        await this.o.client.recordInvocations({ records: batch }, { timeoutMs: 10_000 });
        this.#pending.splice(0, batch.length);
        this.#delivered += batch.length;
        if (this.#waiters.length > 0) {
          const done = this.#waiters.filter((w) => w.upTo <= this.#delivered);
          this.#waiters = this.#waiters.filter((w) => w.upTo > this.#delivered);
          for (const w of done) w.resolve();
        }
        if (this.#failures > 0) this.o.logger.info({ backlog: this.#pending.length }, "trace-store reachable again");
        this.#failures = 0;
      } catch (err) {
        this.#failures++;
        if (this.#failures === 1 || this.#failures % 20 === 0) {
          this.o.logger.warn({ err: (err as Error).message, backlog: this.#pending.length, failures: this.#failures }, "recording invocations failed; will retry");
        }
        throw err;
      } finally {
        this.#sending = undefined;
        if (this.#pending.length > 0) {
          const backoff = this.#failures === 0 ? (this.#pending.length >= this.o.maxBatch ? 0 : this.o.flushIntervalMs) : Math.min(5000, 100 * 2 ** Math.min(this.#failures, 6));
          this.#kick(backoff);
        }
      }
    })();
    return this.#sending;
  }
}
