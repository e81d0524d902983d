// Measured RSS of containers (ContainerUsageSampled) in SQLite, and the RSS memory-time of a window.
// Samples join the containers' lifetimes (container-event-store.ts) for their function and their bounds:
// a container the store has no event of has no known lifetime and is not counted.
import type { Statement } from "better-sqlite3";
import type { ContainerUsageSampled } from "../../gen/faas/events/v1/events_pb.js";
import type { Db } from "./database.js";
import { StatementCache, whereClause, type RecordFilter } from "./record-filter.js";
import { rssMbSeconds, type SampledContainer } from "./rss-seconds.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Why a sample message cannot be stored, or undefined when it can. Checked before it joins a batch, so one
 * bad message never fails the transaction of the others. RSS is read back as a JS number: it must be exact.
 */
export function usageSampleProblem(s: ContainerUsageSampled): string | undefined {
  if (!s.nodeId) return "node_id is empty";
  if (s.atUnixUs <= 0n || s.atUnixUs > MAX_SAFE) return `at_unix_us ${s.atUnixUs} is out of range`;
  for (const [i, c] of s.containers.entries()) {
    if (!c.containerId) return `containers[${i}].container_id is empty`;
    if (c.rssBytes > MAX_SAFE) return `containers[${i}].rss_bytes ${c.rssBytes} is out of range`;
  }
  return undefined;
}

interface SampleRow {
  readonly node_id: string;
  readonly container_id: string;
  readonly created_at_unix_us: number;
  readonly removed_at_unix_us: number | null;
  readonly at_unix_us: number;
  readonly rss_bytes: number;
}

export class UsageSampleStore {
  readonly #insert: Statement;
  readonly #statements: StatementCache<Statement>;
  readonly #record: (messages: readonly ContainerUsageSampled[]) => number[];

  constructor(db: Db) {
    this.#insert = db.prepare(`
      INSERT OR IGNORE INTO container_usage_samples (node_id, container_id, at_unix_us, rss_bytes, memory_mb)
      VALUES (@nodeId, @containerId, @at, @rssBytes, @memoryMb)`);
    this.#statements = new StatementCache((sql) => db.prepare(sql));
    this.#record = db.transaction((messages: readonly ContainerUsageSampled[]) => messages.map((m) => this.#store(m)));
  }

  /**
   * Stores the messages in one transaction; says of each how many of its samples were new (a redelivered
   * message adds none). A message with a problem (usageSampleProblem) fails the batch: check each first.
   */
  recordSamples(messages: readonly ContainerUsageSampled[]): number[] {
    return this.#record(messages);
  }

  #store(m: ContainerUsageSampled): number {
    const problem = usageSampleProblem(m);
    if (problem) throw new RangeError(`usage sample ${m.nodeId}@${m.atUnixUs}: ${problem}`);
    let stored = 0;
    for (const c of m.containers) {
      stored += this.#insert.run({ nodeId: m.nodeId, containerId: c.containerId, at: m.atUnixUs, rssBytes: c.rssBytes, memoryMb: c.memoryMb }).changes;
    }
    return stored;
  }

  /**
   * RSS MB·s inside the filter's window of the containers the filter's function names (by their latest
   * function, as memory_mb_seconds counts them). Lifetimes still open end at nowUs.
   */
  rssMbSeconds(filter: RecordFilter, nowUs: number): number {
    const conditions: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.function !== null) {
      conditions.push("l.function = @function");
      params.function = filter.function;
    }
    if (filter.untilUs !== null) {
      // Lifetimes that began before the window's end, samples taken before it.
      conditions.push("l.created_at_unix_us < @untilUs", "s.at_unix_us < @untilUs");
      params.untilUs = filter.untilUs;
    }
    if (filter.sinceUs !== null) {
      // Lifetimes not over before the window starts; of their samples, those in the window and the last one
      // before it, whose value still holds when the window opens.
      conditions.push(
        "(l.removed_at_unix_us IS NULL OR l.removed_at_unix_us > @sinceUs)",
        `s.at_unix_us >= COALESCE((SELECT MAX(p.at_unix_us) FROM container_usage_samples p
           WHERE p.node_id = l.node_id AND p.container_id = l.container_id AND p.at_unix_us <= @sinceUs), @sinceUs)`,
      );
      params.sinceUs = filter.sinceUs;
    }
    const sql = `
      SELECT l.node_id, l.container_id, l.created_at_unix_us, l.removed_at_unix_us, s.at_unix_us, s.rss_bytes
      FROM container_lifetimes l
      JOIN container_usage_samples s ON s.node_id = l.node_id AND s.container_id = l.container_id
      ${whereClause(conditions)}
      ORDER BY l.node_id, l.container_id, s.at_unix_us`;
    const rows = this.#statements.get(sql).iterate(params) as IterableIterator<SampleRow>;
    return rssMbSeconds(containersOf(rows), { sinceUs: filter.sinceUs, untilUs: filter.untilUs }, nowUs);
  }
}

/** Folds the joined rows (ordered by container, then instant) into one sampled container each, lazily. */
function* containersOf(rows: Iterable<SampleRow>): Generator<SampledContainer> {
  let current: { key: string; createdAtUs: number; removedAtUs: number | null; samples: { atUs: number; rssBytes: number }[] } | undefined;
  for (const row of rows) {
    const key = `${row.node_id}\0${row.container_id}`;
    if (current?.key !== key) {
      if (current) yield current;
      current = { key, createdAtUs: row.created_at_unix_us, removedAtUs: row.removed_at_unix_us, samples: [] };
    }
    current.samples.push({ atUs: row.at_unix_us, rssBytes: row.rss_bytes });
  }
  if (current) yield current;
}
