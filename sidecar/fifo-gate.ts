// The per-container concurrency limit (Knative containerConcurrency): at most `limit` invocations hold a
// slot; the rest wait in arrival order, each for at most its own timeout.

interface Waiter {
  resolve(acquired: boolean): void;
  timer: NodeJS.Timeout;
}

export class FifoGate {
  #limit: number;
  #active = 0;
  readonly #waiters: Waiter[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Takes a slot when one is free and nobody waits; the warm path allocates nothing. */
  tryAcquire(): boolean {
    if (this.#active >= this.#limit || this.#waiters.length > 0) return false;
    this.#active++;
    return true;
  }

  /** Resolves true once a slot is handed over, false after timeoutMs. */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    this.#active--;
    this.#handOver();
  }

  setLimit(limit: number): void {
    this.#limit = limit;
    this.#handOver();
  }

  #handOver(): void {
    while (this.#active < this.#limit && this.#waiters.length > 0) {
      const next = this.#waiters.shift()!;
      clearTimeout(next.timer);
      this.#active++;
      next.resolve(true);
    }
  }
}
