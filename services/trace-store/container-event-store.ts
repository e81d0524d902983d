// Container state changes in SQLite: every event as it came, plus what memory-time accounting needs of
// them, kept current on each insert: one lifetime per container and the history of its memory limit.
import { create } from "@bufbuild/protobuf";
import type { Statement } from "better-sqlite3";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerState, ContainerStateChangedSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import type { Db } from "./database.js";
import { memoryMbSeconds, type ContainerLifetime, type MemoryLimitChange } from "./memory-seconds.js";
import { filterConditions, StatementCache, whereClause, type RecordFilter } from "./record-filter.js";

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Why an event cannot be stored, or undefined when it can. Checked before an event joins a batch, so one
 * bad event never fails the transaction of the others.
 */
export function containerEventProblem(e: ContainerStateChanged): string | undefined {
  if (!e.nodeId) return "node_id is empty";
  if (!e.containerId) return "container_id is empty";
  if (e.atUnixUs <= 0n || e.atUnixUs > BigInt(Number.MAX_SAFE_INTEGER)) return `at_unix_us ${e.atUnixUs} is out of range`;
  // SQLite integers are signed 64-bit.
  if (e.sequence > INT64_MAX) return `sequence ${e.sequence} is out of range`;
  if (e.rssBytes > INT64_MAX) return `rss_bytes ${e.rssBytes} is out of range`;
  return undefined;
}

export interface ContainerEventQuery {
  /** function and window apply to the events' own function and instant. */
  readonly filter: RecordFilter;
  readonly nodeId?: string;
  readonly containerId?: string;
  readonly limit: number;
}

export interface ContainerUsage {
  /** Containers whose first event lies in the window. */
  readonly containersCreated: number;
  /** Lifetime × memory limit of every container, inside the window. */
  readonly memoryMbSeconds: number;
  /** Zygotes lent as helpers (HELPER) and stem cells claimed (PREWARM) in the window, for the function they went to. */
  readonly helperStarts: number;
  readonly prewarmStarts: number;
}

interface EventRow {
  readonly node_id: string;
  readonly sequence: bigint;
  readonly at_unix_us: bigint;
  readonly container_id: string;
  readonly function: string;
  readonly role: bigint;
  readonly state: bigint;
  readonly previous_state: bigint;
  readonly memory_mb: bigint;
  readonly reason: string;
  readonly rss_bytes: bigint;
  readonly start_kind: bigint;
  readonly packages: string;
}

interface LifetimeLimitRow {
  readonly node_id: string;
  readonly container_id: string;
  readonly created_at_unix_us: number;
  readonly removed_at_unix_us: number | null;
  /** Null for a container that never reported a limit. */
  readonly from_unix_us: number | null;
  readonly memory_mb: number | null;
}

export class ContainerEventStore {
  readonly #insertEvent: Statement;
  readonly #upsertLifetime: Statement;
  readonly #insertLimit: Statement;
  readonly #statements: StatementCache<Statement>;
  readonly #recordEvents: (events: readonly ContainerStateChanged[]) => boolean[];

  constructor(db: Db) {
    this.#insertEvent = db.prepare(`
      INSERT OR IGNORE INTO container_events
        (node_id, sequence, at_unix_us, container_id, function, role, state, previous_state, memory_mb, reason, rss_bytes, start_kind, packages)
      VALUES (@nodeId, @sequence, @at, @containerId, @function, @role, @state, @previousState, @memoryMb, @reason, @rssBytes, @startKind, @packages)`);
    // Events may arrive out of order (two NATS paths, a replay): the lifetime starts at the earliest event,
    // and function and memory follow the latest event that names them. SET expressions see the old row.
    this.#upsertLifetime = db.prepare(`
      INSERT INTO container_lifetimes
        (node_id, container_id, function, memory_mb, created_at_unix_us, removed_at_unix_us, last_event_at_unix_us)
      VALUES (@nodeId, @containerId, @function, @memoryMb, @at, CASE WHEN @removed THEN @at END, @at)
      ON CONFLICT (node_id, container_id) DO UPDATE SET
        function = CASE WHEN excluded.function <> '' AND excluded.last_event_at_unix_us >= last_event_at_unix_us
                        THEN excluded.function ELSE function END,
        memory_mb = CASE WHEN excluded.memory_mb > 0 AND excluded.last_event_at_unix_us >= last_event_at_unix_us
                         THEN excluded.memory_mb ELSE memory_mb END,
        created_at_unix_us = MIN(created_at_unix_us, excluded.created_at_unix_us),
        removed_at_unix_us = COALESCE(excluded.removed_at_unix_us, removed_at_unix_us),
        last_event_at_unix_us = MAX(last_event_at_unix_us, excluded.last_event_at_unix_us)`);
    // A new limit row only when the event's limit differs from the one in effect at its instant; 0 is unknown.
    this.#insertLimit = db.prepare(`
      INSERT OR IGNORE INTO container_memory_limits (node_id, container_id, from_unix_us, memory_mb)
      SELECT @nodeId, @containerId, @at, @memoryMb
      WHERE @memoryMb > 0 AND @memoryMb IS NOT (
        SELECT memory_mb FROM container_memory_limits
        WHERE node_id = @nodeId AND container_id = @containerId AND from_unix_us <= @at
        ORDER BY from_unix_us DESC LIMIT 1)`);
    this.#statements = new StatementCache((sql) => db.prepare(sql));
    this.#recordEvents = db.transaction((events: readonly ContainerStateChanged[]) => events.map((e) => this.#store(e)));
  }

  /** Stores one event in one transaction; false when it was already stored (a redelivery). */
  recordEvent(event: ContainerStateChanged): boolean {
    return this.#recordEvents([event])[0];
  }

  /**
   * Stores the events in one transaction; says of each whether it was new. An event with a problem
   * (containerEventProblem) fails the whole batch: check each before batching.
   */
  recordEvents(events: readonly ContainerStateChanged[]): boolean[] {
    return this.#recordEvents(events);
  }

  #store(e: ContainerStateChanged): boolean {
    const problem = containerEventProblem(e);
    if (problem) throw new RangeError(`container event ${e.nodeId}/${e.sequence}: ${problem}`);
    const params = {
      nodeId: e.nodeId,
      sequence: e.sequence,
      at: e.atUnixUs,
      containerId: e.containerId,
      function: e.function,
      role: e.role,
      state: e.state,
      previousState: e.previousState,
      memoryMb: e.memoryMb,
      reason: e.reason,
      rssBytes: e.rssBytes,
      startKind: e.startKind,
      packages: encodePackages(e.packages),
    };
    // A duplicate changes nothing else either: the lifetime already saw it.
    if (this.#insertEvent.run(params).changes === 0) return false;
    this.#upsertLifetime.run({ nodeId: e.nodeId, containerId: e.containerId, function: e.function, memoryMb: e.memoryMb, at: e.atUnixUs, removed: e.state === ContainerState.REMOVED ? 1 : 0 });
    this.#insertLimit.run({ nodeId: e.nodeId, containerId: e.containerId, at: e.atUnixUs, memoryMb: e.memoryMb });
    return true;
  }

  /** Events in time order (then node and sequence). */
  query(q: ContainerEventQuery): ContainerStateChanged[] {
    const { sql: conditions, params } = filterConditions(q.filter, { function: "function", time: "at_unix_us" });
    if (q.nodeId) {
      conditions.push("node_id = @nodeId");
      params.nodeId = q.nodeId;
    }
    if (q.containerId) {
      conditions.push("container_id = @containerId");
      params.containerId = q.containerId;
    }
    params.limit = q.limit;
    const sql = `SELECT * FROM container_events ${whereClause(conditions)} ORDER BY at_unix_us, node_id, sequence LIMIT @limit`;
    // Sequences and RSS are 64-bit: read every integer as a bigint.
    const statement = this.#statements.get(sql).safeIntegers(true);
    return (statement.all(params) as EventRow[]).map(eventOf);
  }

  /**
   * Containers created in the window and the MB·s they held in it, for the containers the filter's function
   * names (by their latest function). Lifetimes still open end at nowUs.
   */
  usage(filter: RecordFilter, nowUs: number): ContainerUsage {
    const created = filterConditions(filter, { function: "function", time: "created_at_unix_us" });
    const createdSql = `SELECT COUNT(*) AS n FROM container_lifetimes ${whereClause(created.sql)}`;
    const { n } = this.#statements.get(createdSql).get(created.params) as { n: number };

    // Lifetimes that overlap the window: created before its end, not removed before its start.
    const overlapping: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.function !== null) {
      overlapping.push("l.function = @function");
      params.function = filter.function;
    }
    if (filter.untilUs !== null) {
      overlapping.push("l.created_at_unix_us < @untilUs");
      params.untilUs = filter.untilUs;
    }
    if (filter.sinceUs !== null) {
      overlapping.push("(l.removed_at_unix_us IS NULL OR l.removed_at_unix_us > @sinceUs)");
      params.sinceUs = filter.sinceUs;
    }
    const lifetimesSql = `
      SELECT l.node_id, l.container_id, l.created_at_unix_us, l.removed_at_unix_us, m.from_unix_us, m.memory_mb
      FROM container_lifetimes l
      LEFT JOIN container_memory_limits m ON m.node_id = l.node_id AND m.container_id = l.container_id
      ${whereClause(overlapping)}
      ORDER BY l.node_id, l.container_id, m.from_unix_us`;
    const rows = this.#statements.get(lifetimesSql).iterate(params) as IterableIterator<LifetimeLimitRow>;
    const window = { sinceUs: filter.sinceUs, untilUs: filter.untilUs };
    const mbSeconds = memoryMbSeconds(lifetimesOf(rows), window, nowUs);

    // The conditions repeat the partial index's (container_events_lent) so SQLite can use it.
    const starts = filterConditions(filter, { function: "function", time: "at_unix_us" });
    starts.sql.push(`state = ${ContainerState.STARTING}`, `start_kind IN (${StartKind.HELPER}, ${StartKind.PREWARM})`);
    const startsSql = `SELECT start_kind, COUNT(*) AS n FROM container_events ${whereClause(starts.sql)} GROUP BY start_kind`;
    const counts = new Map((this.#statements.get(startsSql).all(starts.params) as { start_kind: number; n: number }[]).map((r) => [r.start_kind, r.n]));
    return {
      containersCreated: n,
      memoryMbSeconds: mbSeconds,
      helperStarts: counts.get(StartKind.HELPER) ?? 0,
      prewarmStarts: counts.get(StartKind.PREWARM) ?? 0,
    };
  }
}

/** Folds the joined rows (ordered by container, then limit) into one lifetime per container, lazily. */
function* lifetimesOf(rows: Iterable<LifetimeLimitRow>): Generator<ContainerLifetime> {
  let current: { key: string; createdAtUs: number; removedAtUs: number | null; limits: MemoryLimitChange[] } | undefined;
  for (const row of rows) {
    const key = `${row.node_id}\0${row.container_id}`;
    if (current?.key !== key) {
      if (current) yield current;
      current = { key, createdAtUs: row.created_at_unix_us, removedAtUs: row.removed_at_unix_us, limits: [] };
    }
    if (row.from_unix_us !== null && row.memory_mb !== null) current.limits.push({ fromUs: row.from_unix_us, memoryMb: row.memory_mb });
  }
  if (current) yield current;
}

function eventOf(row: EventRow): ContainerStateChanged {
  return create(ContainerStateChangedSchema, {
    nodeId: row.node_id,
    containerId: row.container_id,
    function: row.function,
    role: Number(row.role),
    state: Number(row.state),
    previousState: Number(row.previous_state),
    memoryMb: Number(row.memory_mb),
    atUnixUs: row.at_unix_us,
    reason: row.reason,
    sequence: row.sequence,
    rssBytes: row.rss_bytes,
    startKind: Number(row.start_kind),
    packages: decodePackages(row.packages),
  });
}

// A container of the plain runtime image holds no packages: '' stores nothing for it.
function encodePackages(packages: readonly string[]): string {
  return packages.length === 0 ? "" : JSON.stringify(packages);
}

function decodePackages(text: string): string[] {
  return text === "" ? [] : (JSON.parse(text) as string[]);
}
