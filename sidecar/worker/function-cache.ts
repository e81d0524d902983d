// ctx.cache: the FaaSBatch reuse of expensive clients across invocations, done safely. Lives in the
// function's own worker (so per function, gone with the worker), keyed by explicit strings, and bounded:
// beyond maxEntries the least recently used entry is dropped.
export const DEFAULT_CACHE_ENTRIES = 256;

export class FunctionCache<V = unknown> {
  readonly #entries = new Map<string, V>();

  constructor(readonly maxEntries = DEFAULT_CACHE_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Returns the value and marks the entry as most recently used. */
  get(key: string): V | undefined {
    checkKey(key);
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key) as V;
    // A Map iterates in insertion order: re-inserting moves the key to the most-recent end.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: V): this {
    checkKey(key);
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return this;
  }

  /** Does not count as a use. */
  has(key: string): boolean {
    checkKey(key);
    return this.#entries.has(key);
  }

  delete(key: string): boolean {
    checkKey(key);
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Least recently used first. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }
}

function checkKey(key: unknown): asserts key is string {
  // Explicit string keys only: objects would be compared by identity, and String(obj) collides ("[object Object]").
  if (typeof key !== "string") throw new TypeError(`ctx.cache keys must be strings, got ${key === null ? "null" : typeof key}`);
}
