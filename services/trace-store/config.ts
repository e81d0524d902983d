import { internalSecretFileSetting, internalSecretFor, internalSecretSetting } from "../../common/internal-auth.js";
import { int, loadConfig, port, str, type ConfigOf } from "../../common/config.js";

export const traceStoreSchema = {
  internalSecret: internalSecretSetting,
  internalSecretFile: internalSecretFileSetting,
  host: str("TRACE_STORE_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("TRACE_STORE_PORT", 7104, "Port of the gRPC server (0: any free port)."),
  dbFile: str("TRACE_STORE_DB", "data/trace-store.db", 'SQLite file, relative to the working directory; ":memory:" keeps the data in memory only (lost on exit).'),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated; container state changes are read from faas.containers.>."),
  batchDelayMs: int("TRACE_STORE_BATCH_DELAY_MS", 5, "How long writes (container events, invocation records) are collected before one transaction commits them.", { min: 0, max: 1000 }),
  batchMaxRows: int("TRACE_STORE_BATCH_MAX_ROWS", 1000, "Collected rows that make the batch commit at once, before the delay ends.", { min: 1, max: 100_000 }),
  maxRequestBytes: int("TRACE_STORE_MAX_REQUEST_BYTES", 32 * 1024 * 1024, "Largest accepted request message (RecordInvocations batches).", { min: 1024 }),
};

export type TraceStoreConfig = ConfigOf<typeof traceStoreSchema>;

export function loadTraceStoreConfig(env: NodeJS.ProcessEnv = process.env): TraceStoreConfig {
  const c = loadConfig(traceStoreSchema, env);
  return { ...c, internalSecret: internalSecretFor("TRACE_STORE_HOST", c.host, c) };
}
