// One function's dispatch queue in the balancer (FaaSBatch's batching, with the bounds its code lacks).
// Invocations wait here until their batch is due: when it is full (maxBatchSize), or when the window
// has passed since its first member arrived. A due batch is cut into per-container pieces of at most
// the packing degree (the container's concurrency), which go to containers; what does not fit one goes
// to the next. Past maxQueued waiting invocations an offer is refused, and the caller answers
// RESOURCE_EXHAUSTED: nothing is dropped silently.
//
// Pure: time comes in as arguments and nothing here sets a timer. The owner calls take(now) at
// nextDueAt() (and in the turn an offer was made, for a zero window).
import type { BatchWindow } from "./batch-window.js";

export interface DispatchLimits {
  /** Members of one batch at most (Infinity: unbounded, FaaSBatch as published). */
  readonly maxBatchSize: number;
  /** Invocations of one container's piece at most: the packing degree, within its concurrency (Infinity: one piece). */
  readonly perContainer: number;
  /** Invocations waiting at most; beyond, offers are refused. */
  readonly maxQueued: number;
}

export interface Batch<T> {
  /** Members in arrival order. */
  readonly members: readonly T[];
  /** How long its first member waited, ms. */
  readonly waitedMs: number;
  /** The batch cut into container pieces (each ≤ perContainer), in order. */
  readonly pieces: readonly (readonly T[])[];
}

interface Waiting<T> {
  readonly item: T;
  readonly arrivedAt: number;
}

export class QueueFullError extends Error {}

function checkLimits(limits: DispatchLimits): DispatchLimits {
  const { maxBatchSize, perContainer, maxQueued } = limits;
  if (!(maxBatchSize >= 1)) throw new RangeError(`maxBatchSize must be ≥ 1, got ${maxBatchSize}`);
  if (!((Number.isInteger(perContainer) || perContainer === Infinity) && perContainer >= 1)) throw new RangeError(`perContainer must be a positive integer or Infinity, got ${perContainer}`);
  if (!(Number.isInteger(maxQueued) && maxQueued >= 1)) throw new RangeError(`maxQueued must be a positive integer, got ${maxQueued}`);
  return limits;
}

export class DispatchQueue<T> {
  #waiting: Waiting<T>[] = [];
  /** When the open batch (the waiting head) is due: its first member's arrival + the window then. */
  #dueAt: number | undefined;

  #limits: DispatchLimits;

  constructor(
    private readonly window: BatchWindow,
    limits: DispatchLimits,
  ) {
    this.#limits = checkLimits(limits);
  }

  get limits(): DispatchLimits {
    return this.#limits;
  }

  /** New limits for the batches still to close (kraken's size follows the function's mean duration). */
  setLimits(limits: DispatchLimits): void {
    this.#limits = checkLimits(limits);
  }


  get length(): number {
    return this.#waiting.length;
  }

  /** Queues item; throws QueueFullError when maxQueued are waiting already. */
  offer(item: T, nowMs: number): void {
    if (this.#waiting.length >= this.#limits.maxQueued) {
      throw new QueueFullError(`${this.#waiting.length} invocations are waiting for dispatch already (the bound is ${this.#limits.maxQueued})`);
    }
    this.window.arrived(nowMs);
    this.#dueAt ??= nowMs + this.window.currentMs;
    this.#waiting.push({ item, arrivedAt: nowMs });
  }

  /** When take() has something due next, if anything waits. */
  nextDueAt(): number | undefined {
    if (this.#waiting.length === 0) return undefined;
    return this.#waiting.length >= this.#limits.maxBatchSize ? this.#waiting[0].arrivedAt : this.#dueAt;
  }

  /** The batches due at nowMs: every full one, then the open one if its window has passed. */
  take(nowMs: number): Batch<T>[] {
    const out: Batch<T>[] = [];
    const { maxBatchSize } = this.#limits;
    while (this.#waiting.length > 0) {
      const full = this.#waiting.length >= maxBatchSize;
      if (!full && (this.#dueAt === undefined || nowMs < this.#dueAt)) break;
      const size = Math.min(this.#waiting.length, maxBatchSize);
      const members = this.#waiting.splice(0, size);
      out.push(this.#batch(members, nowMs));
      this.window.closed(size);
      // What is left opens the next batch: due a window after its own first member arrived.
      this.#dueAt = this.#waiting.length > 0 ? this.#waiting[0].arrivedAt + this.window.currentMs : undefined;
    }
    return out;
  }

  /** Everything waiting, at once (the balancer is stopping: they are answered, not dropped). */
  drain(nowMs: number): Batch<T>[] {
    const out: Batch<T>[] = [];
    while (this.#waiting.length > 0) out.push(this.#batch(this.#waiting.splice(0, Math.min(this.#waiting.length, this.#limits.maxBatchSize)), nowMs));
    this.#dueAt = undefined;
    return out;
  }

  #batch(waiting: Waiting<T>[], nowMs: number): Batch<T> {
    const members = waiting.map((w) => w.item);
    const pieces: T[][] = [];
    for (let i = 0; i < members.length; i += this.#limits.perContainer) pieces.push(members.slice(i, i + this.#limits.perContainer));
    return { members, waitedMs: nowMs - waiting[0].arrivedAt, pieces };
  }
}
