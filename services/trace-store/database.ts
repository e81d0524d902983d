// The SQLite file: opened in WAL mode (readers never block the writer) and brought to the current schema.
// Every instant is an integer of Unix microseconds, every duration an integer of microseconds.
import type Database from "better-sqlite3";
import { openSqliteFile } from "../../common/sqlite-file.js";

export type Db = Database.Database;

// Schema versions, applied in order; PRAGMA user_version records how many ran.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE invocations (
    invocation_id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    node_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    start_kind INTEGER NOT NULL,
    status INTEGER NOT NULL,
    -- NULL when the record came without timings.
    queued_us INTEGER,
    startup_us INTEGER,
    init_us INTEGER,
    exec_us INTEGER,
    total_us INTEGER,
    received_at_unix_us INTEGER NOT NULL,
    batch_id TEXT NOT NULL,
    batch_size INTEGER NOT NULL,
    error_type TEXT NOT NULL,
    error_message TEXT NOT NULL,
    async INTEGER NOT NULL
  );
  -- Queries filter by (function, window) or by window alone and page in (received_at, invocation_id) order.
  CREATE INDEX invocations_by_function_time ON invocations (function, received_at_unix_us, invocation_id);
  CREATE INDEX invocations_by_time ON invocations (received_at_unix_us, invocation_id);

  -- Every ContainerStateChanged seen on NATS. A redelivered event repeats (node, sequence, at); keying on
  -- the instant too keeps the events of a node-manager that restarted and began its sequence again.
  CREATE TABLE container_events (
    node_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    at_unix_us INTEGER NOT NULL,
    container_id TEXT NOT NULL,
    function TEXT NOT NULL,
    role INTEGER NOT NULL,
    state INTEGER NOT NULL,
    previous_state INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    reason TEXT NOT NULL,
    rss_bytes INTEGER NOT NULL,
    PRIMARY KEY (node_id, sequence, at_unix_us)
  );
  CREATE INDEX container_events_by_time ON container_events (at_unix_us);
  CREATE INDEX container_events_by_container ON container_events (container_id, at_unix_us);

  -- One row per container: from its first event to its REMOVED event, for memory-time accounting.
  -- function and memory_mb are those of its latest event that named them.
  CREATE TABLE container_lifetimes (
    node_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    function TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    created_at_unix_us INTEGER NOT NULL,
    removed_at_unix_us INTEGER,
    last_event_at_unix_us INTEGER NOT NULL,
    PRIMARY KEY (node_id, container_id)
  );
  CREATE INDEX container_lifetimes_by_created ON container_lifetimes (created_at_unix_us);

  -- The memory limit of a container over time: a row whenever an event reports a limit that differs
  -- from the one in effect (a zygote lent as a helper is resized).
  CREATE TABLE container_memory_limits (
    node_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    from_unix_us INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    PRIMARY KEY (node_id, container_id, from_unix_us)
  );
  `,
  `
  -- How a container came to serve its function (StartKind: COLD, HELPER, PREWARM; 0 for zygotes and stem
  -- cells) and the package set of its image ("name@version" as a JSON array; '' when it holds none).
  ALTER TABLE container_events ADD COLUMN start_kind INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE container_events ADD COLUMN packages TEXT NOT NULL DEFAULT '';
  -- Summaries count helper forks and stem-cell claims (STARTING events of kind HELPER=3 / PREWARM=4) by
  -- window: a partial index keeps that count proportional to those few events, not to all events.
  CREATE INDEX container_events_lent ON container_events (at_unix_us) WHERE state = 1 AND start_kind IN (3, 4);

  -- Measured resident memory of each container (ContainerUsageSampled), for RSS memory-time. A sample
  -- delivered twice repeats its key and is stored once. Keyed for the per-container, time-ordered reads.
  CREATE TABLE container_usage_samples (
    node_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    at_unix_us INTEGER NOT NULL,
    rss_bytes INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    PRIMARY KEY (node_id, container_id, at_unix_us)
  ) WITHOUT ROWID;
  `,
];

/** Opens (creating the file and its directory) and migrates. ":memory:" gives a private in-memory store. */
export function openDatabase(file: string): Db {
  const db = openSqliteFile(file);
  try {
    // In WAL mode NORMAL survives a crash of this process; only a power loss can drop the last commits.
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this trace-store (${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
