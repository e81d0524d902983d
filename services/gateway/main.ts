// gateway: the platform's public API (gRPC, gRPC-Web and Connect on one port).
import { connectNats } from "../../common/nats.js";
import { startTracing } from "../../common/tracing.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { AsyncResults } from "./async-results.js";
import { loadGatewayConfig } from "./config.js";
import { FunctionDeployer } from "./function-deployer.js";
import { FunctionRegistry } from "./function-registry.js";
import { InvocationRecorder } from "./invocation-recorder.js";
import { Invoker } from "./invoker.js";
import { GatewayMetrics } from "./metrics.js";
import { gatewayService } from "./service.js";

runService("gateway", async (logger) => {
  const cfg = loadGatewayConfig();
  const registry = new FunctionRegistry(cfg.database);
  const nc = await connectNats(cfg.natsUrl, "gateway", logger);
  const balancer = connectPeer(BalancerService, cfg.balancerUrl, { writeMaxBytes: cfg.maxCodeBytes * 2 + 1024 * 1024 });
  const traceStore = connectPeer(TraceStoreService, cfg.traceStoreUrl);
  const recorder = new InvocationRecorder({ client: traceStore.client, logger, flushIntervalMs: cfg.recordFlushMs, maxBatch: cfg.recordBatch });
  const deployer = new FunctionDeployer({ registry, balancer: balancer.client, nc, bounds: { maxCodeBytes: cfg.maxCodeBytes }, prepareTimeoutMs: cfg.prepareTimeoutMs });
  const metrics = new GatewayMetrics();
  const invoker = new Invoker({
    metrics,
    balancer: balancer.client,
    recorder,
    logger,
    maxPayloadBytes: cfg.maxPayloadBytes,
    platformAllowanceMs: cfg.platformAllowanceMs,
    reprepare: async (spec) => void (await deployer.prepare(spec)),
  });
  const asyncResults = new AsyncResults(cfg.asyncResultTtlMs);
  const inflightAsync = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    inflightAsync.add(work);
    void work.finally(() => inflightAsync.delete(work));
  };

  const server = await serve({
    name: "gateway",
    logger,
    services: [gatewayService({ registry, deployer, invoker, asyncResults, track })],
    metrics: metrics.registry,
    host: cfg.host,
    port: cfg.port,
    // Deploys carry code; the payload limit of invocations is checked per request, with its own message.
    readMaxBytes: Math.max(cfg.maxCodeBytes, cfg.maxPayloadBytes) * 2 + 1024 * 1024,
  });
  logger.info({ functions: registry.list().length }, "gateway ready");

  return {
    async stop() {
      await server.close();
      // Accepted async invocations finish and are recorded before the process goes.
      await Promise.allSettled([...inflightAsync]);
      await recorder.flush(Date.now() + 15_000).catch((err) => logger.error({ err: (err as Error).message }, "records lost at stop"));
      asyncResults.close();
      balancer.close();
      traceStore.close();
      await nc.drain();
      registry.close();
    },
  };
}, { tracing: startTracing });
