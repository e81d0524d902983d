// trace-store: persists invocation records and container state changes; answers queries and summaries.
import { systemClock } from "../../common/clock.js";
import { connectNats } from "../../common/nats.js";
import { startTracing } from "../../common/tracing.js";
import { runService } from "../../common/process.js";
import { Counter } from "prom-client";
import { serviceRegistry } from "../../common/metrics.js";
import { serve } from "../../common/server.js";
import type { InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { loadTraceStoreConfig } from "./config.js";
import { ContainerEventStore } from "./container-event-store.js";
import { openDatabase } from "./database.js";
import { GroupCommit } from "./group-commit.js";
import { InvocationStore } from "./invocation-store.js";
import { startContainerEventIntake, startUsageSampleIntake } from "./nats-intakes.js";
import { traceStoreService } from "./service.js";
import { UsageSampleStore } from "./usage-sample-store.js";

runService("trace-store", async (logger) => {
  const cfg = loadTraceStoreConfig();
  const db = openDatabase(cfg.dbFile);
  const invocations = new InvocationStore(db);
  const containers = new ContainerEventStore(db);
  const samples = new UsageSampleStore(db);
  const metrics = serviceRegistry("trace-store");
  const recordsStored = new Counter({ name: "faas_records_stored_total", help: "Invocation records written to the database.", registers: [metrics] });
  const invocationWriter = new GroupCommit<readonly InvocationRecord[], number>({
    maxDelayMs: cfg.batchDelayMs,
    maxWeight: cfg.batchMaxRows,
    weigh: (records) => records.length,
    commit: (groups) => {
      const stored = invocations.recordGroups(groups);
      recordsStored.inc(groups.reduce((n, g) => n + g.length, 0));
      return stored;
    },
  });

  // A failed start exits the process (runService), which also releases the database.
  const nc = await connectNats(cfg.natsUrl, "trace-store", logger).catch((err: Error) => {
    throw new Error(`NATS not reachable at ${cfg.natsUrl}: ${err.message}`);
  });
  // Subscribed before serving: once /healthz answers, every container event and usage sample published is recorded.
  const batching = { nc, logger, batchDelayMs: cfg.batchDelayMs, batchMaxRows: cfg.batchMaxRows };
  const intakes = [await startContainerEventIntake({ ...batching, store: containers }), await startUsageSampleIntake({ ...batching, store: samples })];
  const server = await serve({
    name: "trace-store",
    logger,
    services: [traceStoreService({ invocations, invocationWriter, containers, samples, clock: systemClock })],
    host: cfg.host,
    port: cfg.port,
    internalSecret: cfg.internalSecret,
    readMaxBytes: cfg.maxRequestBytes,
    metrics,
  });
  logger.info({ db: cfg.dbFile, url: server.url }, "trace-store ready");

  return {
    async stop() {
      await Promise.all(intakes.map((i) => i.stop()));
      await nc.close();
      // In-flight RecordInvocations calls complete (their group commits on its timer) before the server closes.
      await server.close();
      invocationWriter.close();
      db.close();
    },
  };
}, { tracing: startTracing });
