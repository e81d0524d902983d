// Group commit: writes that arrive close together (container events in bursts, concurrent RecordInvocations
// calls) are collected for a few milliseconds, or until enough rows wait, and committed in one SQLite
// transaction, so the cost of a commit is shared instead of paid per row.

export interface GroupCommitOptions<T, R> {
  /** How long the first waiting item may wait for others. */
  readonly maxDelayMs: number;
  /** Waiting weight (rows) that commits at once. An item heavier than this is committed alone, never split. */
  readonly maxWeight: number;
  /** Rows an item will write; 1 when omitted. */
  readonly weigh?: (item: T) => number;
  /** Writes the items in one transaction and returns one result per item, in order. Throwing fails them all. */
  readonly commit: (items: T[]) => R[];
}

export class GroupClosedError extends Error {
  constructor() {
    super("the store is shutting down");
  }
}

interface Waiting<T, R> {
  readonly item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export class GroupCommit<T, R> {
  #waiting: Waiting<T, R>[] = [];
  #weight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  /** Items waiting for the next commit. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Resolves with the item's result once its group is committed. */
  submit(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(new GroupClosedError());
    const weight = this.options.weigh?.(item) ?? 1;
    // A heavy item does not wait behind a group it would overflow: the group goes first.
    if (this.#weight > 0 && this.#weight + weight > this.options.maxWeight) this.flush();
    const result = new Promise<R>((resolve, reject) => this.#waiting.push({ item, resolve, reject }));
    this.#weight += weight;
    if (this.#weight >= this.options.maxWeight) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
    return result;
  }

  /** Commits what waits, now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const group = this.#waiting;
    if (group.length === 0) return;
    this.#waiting = [];
    this.#weight = 0;
    let results: R[];
    try {
      results = this.options.commit(group.map((w) => w.item));
      if (results.length !== group.length) throw new Error(`commit returned ${results.length} results for ${group.length} items`);
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => w.resolve(results[i]));
  }

  /** Commits what waits and refuses later items. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
