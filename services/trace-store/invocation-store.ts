// Invocation records in SQLite: idempotent inserts, pages in (received_at, invocation_id) order, and
// summaries that stream the rows through the summarizer instead of loading them.
import { create } from "@bufbuild/protobuf";
import type { Statement } from "better-sqlite3";
import { TimingsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { InvocationRecordSchema, type InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import type { Db } from "./database.js";
import { InvocationSummarizer, type InvocationSample, type InvocationSummary } from "./invocation-summary.js";
import { filterConditions, StatementCache, whereClause, type RecordFilter } from "./record-filter.js";

/** A page cursor that names no stored invocation. */
export class UnknownInvocationError extends Error {
  constructor(readonly invocationId: string) {
    super(`no invocation ${JSON.stringify(invocationId)} is stored`);
  }
}

export interface InvocationQuery {
  readonly filter: RecordFilter;
  readonly limit: number;
  /** Only records after this one in (received_at, invocation_id) order: the last record of the previous page. */
  readonly afterInvocationId?: string;
  /** Only this invocation. */
  readonly invocationId?: string;
}

interface InvocationRow {
  readonly invocation_id: string;
  readonly function: string;
  readonly node_id: string;
  readonly container_id: string;
  readonly start_kind: number;
  readonly status: number;
  readonly queued_us: number | null;
  readonly startup_us: number | null;
  readonly init_us: number | null;
  readonly exec_us: number | null;
  readonly total_us: number | null;
  readonly received_at_unix_us: number;
  readonly batch_id: string;
  readonly batch_size: number;
  readonly error_type: string;
  readonly error_message: string;
  readonly async: number;
}

const COLUMNS = { function: "function", time: "received_at_unix_us" };

export class InvocationStore {
  readonly #insert: Statement;
  readonly #receivedAt: Statement<[string], { received_at_unix_us: number }>;
  readonly #statements: StatementCache<Statement>;
  readonly #recordGroups: (groups: readonly (readonly InvocationRecord[])[]) => number[];

  constructor(private readonly db: Db) {
    this.#insert = db.prepare(`
      INSERT OR IGNORE INTO invocations (
        invocation_id, function, node_id, container_id, start_kind, status,
        queued_us, startup_us, init_us, exec_us, total_us,
        received_at_unix_us, batch_id, batch_size, error_type, error_message, async
      ) VALUES (
        @invocationId, @function, @nodeId, @containerId, @startKind, @status,
        @queuedUs, @startupUs, @initUs, @execUs, @totalUs,
        @receivedAtUnixUs, @batchId, @batchSize, @errorType, @errorMessage, @async
      )`);
    this.#receivedAt = db.prepare("SELECT received_at_unix_us FROM invocations WHERE invocation_id = ?");
    this.#statements = new StatementCache((sql) => db.prepare(sql));
    this.#recordGroups = db.transaction((groups: readonly (readonly InvocationRecord[])[]) =>
      groups.map((records) => {
        let stored = 0;
        for (const r of records) stored += this.#insert.run(insertParams(r)).changes;
        return stored;
      }),
    );
  }

  /** Stores the records in one transaction; returns how many were new (a known invocation_id is skipped). */
  record(records: readonly InvocationRecord[]): number {
    return this.#recordGroups([records])[0];
  }

  /** Stores several requests' records in one transaction; returns the new records of each, in order. */
  recordGroups(groups: readonly (readonly InvocationRecord[])[]): number[] {
    return this.#recordGroups(groups);
  }

  query(q: InvocationQuery): InvocationRecord[] {
    const { sql: conditions, params } = filterConditions(q.filter, COLUMNS);
    if (q.invocationId) {
      conditions.push("invocation_id = @invocationId");
      params.invocationId = q.invocationId;
    }
    if (q.afterInvocationId) {
      const cursor = this.#receivedAt.get(q.afterInvocationId);
      if (!cursor) throw new UnknownInvocationError(q.afterInvocationId);
      conditions.push("(received_at_unix_us, invocation_id) > (@afterReceivedAtUs, @afterInvocationId)");
      params.afterReceivedAtUs = cursor.received_at_unix_us;
      params.afterInvocationId = q.afterInvocationId;
    }
    params.limit = q.limit;
    const sql = `SELECT * FROM invocations ${whereClause(conditions)} ORDER BY received_at_unix_us, invocation_id LIMIT @limit`;
    return (this.#statements.get(sql).all(params) as InvocationRow[]).map(recordOf);
  }

  /** Counts, percentiles and phase means of the records the filter selects, one row in memory at a time. */
  summarize(filter: RecordFilter): InvocationSummary {
    const { sql: conditions, params } = filterConditions(filter, COLUMNS);
    const sql = `
      SELECT start_kind AS startKind, status, queued_us AS queuedUs, startup_us AS startupUs,
             init_us AS initUs, exec_us AS execUs, total_us AS totalUs
      FROM invocations ${whereClause(conditions)}`;
    const summarizer = new InvocationSummarizer();
    for (const sample of this.#statements.get(sql).iterate(params) as IterableIterator<InvocationSample>) summarizer.add(sample);
    return summarizer.result();
  }
}

function insertParams(r: InvocationRecord) {
  const t = r.timings;
  return {
    invocationId: r.invocationId,
    function: r.function,
    nodeId: r.nodeId,
    containerId: r.containerId,
    startKind: r.startKind,
    status: r.status,
    queuedUs: t ? t.queuedUs : null,
    startupUs: t ? t.startupUs : null,
    initUs: t ? t.initUs : null,
    execUs: t ? t.execUs : null,
    totalUs: t ? t.totalUs : null,
    receivedAtUnixUs: r.receivedAtUnixUs,
    batchId: r.batchId,
    batchSize: r.batchSize,
    errorType: r.errorType,
    errorMessage: r.errorMessage,
    async: r.async ? 1 : 0,
  };
}

function recordOf(row: InvocationRow): InvocationRecord {
  // The phases are stored together: all present or all NULL.
  const timings =
    row.total_us === null
      ? undefined
      : create(TimingsSchema, {
          queuedUs: BigInt(row.queued_us ?? 0),
          startupUs: BigInt(row.startup_us ?? 0),
          initUs: BigInt(row.init_us ?? 0),
          execUs: BigInt(row.exec_us ?? 0),
          totalUs: BigInt(row.total_us),
        });
  return create(InvocationRecordSchema, {
    invocationId: row.invocation_id,
    function: row.function,
    nodeId: row.node_id,
    containerId: row.container_id,
    startKind: row.start_kind,
    status: row.status,
    timings,
    receivedAtUnixUs: BigInt(row.received_at_unix_us),
    batchId: row.batch_id,
    batchSize: row.batch_size,
    errorType: row.error_type,
    errorMessage: row.error_message,
    async: row.async !== 0,
  });
}
