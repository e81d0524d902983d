import test from "ava";
import { ConfigError } from "../../common/config.js";
import { loadTraceStoreConfig } from "../../services/trace-store/config.js";

test("defaults", (t) => {
  t.like(loadTraceStoreConfig({}), {
    host: "127.0.0.1",
    port: 7104,
    dbFile: "data/trace-store.db",
    natsUrl: "nats://127.0.0.1:4222",
    batchDelayMs: 5,
    batchMaxRows: 1000,
  });
});

test("values from the environment, and every bad one named", (t) => {
  t.like(loadTraceStoreConfig({ TRACE_STORE_DB: ":memory:", TRACE_STORE_PORT: "0" }), { dbFile: ":memory:", port: 0 });
  const err = t.throws(() => loadTraceStoreConfig({ TRACE_STORE_PORT: "70000", TRACE_STORE_BATCH_MAX_ROWS: "0" }), { instanceOf: ConfigError });
  t.is(err?.problems.length, 2);
  t.regex(err!.message, /TRACE_STORE_PORT/);
  t.regex(err!.message, /TRACE_STORE_BATCH_MAX_ROWS/);
});
