// gateway: the platform's public API (gRPC, gRPC-Web and Connect on one port).
import { connectNats } from "../../common/nats.js";
import { startTracing } from "../../common/tracing.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { deadLetterHandlers } from "./async/dead-letter-handlers.js";
import { DurableAsync } from "./async/durable-async.js";
import { loadGatewayConfig } from "./config.js";
import { FunctionDeployer } from "./function-deployer.js";
import { FunctionRegistry } from "./function-registry.js";
import { InvocationRecorder } from "./invocation-recorder.js";
import { Invoker } from "./invoker.js";
import { GatewayMetrics } from "./metrics.js";
import { gatewayService } from "./service.js";
import { adminService } from "./admin-service.js";
import { Authenticator } from "./tenancy/authenticator.js";
import { resolveOperatorKey } from "../../common/operator-key.js";
import { TenantLimiter } from "./tenancy/tenant-limits.js";
import { TenantStore } from "./tenancy/tenant-store.js";
import { systemClock } from "../../common/clock.js";

runService("gateway", async (logger) => {
  const cfg = loadGatewayConfig();
  const registry = new FunctionRegistry(cfg.database);
  const tenants = new TenantStore(cfg.database);
  const operatorKey = resolveOperatorKey(cfg.operatorKey, cfg.operatorKeyFile);
  if (operatorKey.source === "created") logger.warn({ file: cfg.operatorKeyFile }, "created a new operator key; it is in this file only");
  const auth = new Authenticator(tenants, operatorKey.key);
  const limiter = new TenantLimiter(systemClock);
  const defaultQuota = { maxConcurrent: cfg.tenantMaxConcurrent, ratePerSecond: cfg.tenantRatePerSecond, burst: cfg.tenantBurst };
  const nc = await connectNats(cfg.natsUrl, "gateway", logger);
  const balancer = connectPeer(BalancerService, cfg.balancerUrl, { writeMaxBytes: cfg.maxCodeBytes * 2 + 1024 * 1024, internalSecret: cfg.internalSecret });
  const traceStore = connectPeer(TraceStoreService, cfg.traceStoreUrl, { internalSecret: cfg.internalSecret });
  const recorder = new InvocationRecorder({ client: traceStore.client, logger, flushIntervalMs: cfg.recordFlushMs, maxBatch: cfg.recordBatch });
  const deployer = new FunctionDeployer({ registry, balancer: balancer.client, nc, bounds: { maxCodeBytes: cfg.maxCodeBytes, allowHostNetwork: cfg.allowHostNetwork }, prepareTimeoutMs: cfg.prepareTimeoutMs });
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
  // Creates or updates the FAAS_ASYNC and FAAS_ASYNC_DEAD streams, the results bucket and the workers' consumer.
  const asyncInvocations = await DurableAsync.open({
    nc,
    logger,
    invoker,
    resolveFunction: (name) => registry.get(name),
    metrics: metrics.registry,
    // An attempt runs in one of its tenant's concurrency slots, as a sync call does; when all are taken it
    // goes back to the queue (NAK with the hint) without counting as an attempt.
    admit: (name) => {
      const tenant = tenants.tenant(name);
      if (!tenant) return { release: () => {} };
      const a = limiter.admitSlot(tenant.name, tenant.quota);
      return a.admitted ? { release: a.release } : { retryAfterMs: a.retryAfterMs };
    },
    settings: {
      maxAttempts: cfg.asyncMaxAttempts,
      backoffBaseMs: cfg.asyncBackoffBaseMs,
      backoffMaxMs: cfg.asyncBackoffMaxMs,
      workers: cfg.asyncWorkers,
      ackWaitMs: cfg.asyncAckWaitMs,
      streamMaxAgeMs: cfg.asyncStreamMaxAgeMs,
      deadLetterMaxAgeMs: cfg.asyncDeadLetterMaxAgeMs,
      resultTtlMs: cfg.asyncResultTtlMs,
      storeTimeoutMs: cfg.asyncStoreTimeoutMs,
    },
  });
  const deadLetters = deadLetterHandlers({ queue: asyncInvocations, requireOperator: (headers) => auth.operator(headers) });

  const server = await serve({
    name: "gateway",
    logger,
    services: [gatewayService({ registry, deployer, invoker, asyncInvocations, auth, limiter }), adminService({ auth, tenants, registry, defaultQuota, deadLetters })],
    metrics: metrics.registry,
    host: cfg.host,
    port: cfg.port,
    // Deploys carry code; the payload limit of invocations is checked per request, with its own message.
    readMaxBytes: Math.max(cfg.maxCodeBytes, cfg.maxPayloadBytes) * 2 + 1024 * 1024,
  });
  asyncInvocations.start();
  logger.info({ functions: registry.list().length, asyncWorkers: cfg.asyncWorkers }, "gateway ready");

  return {
    async stop() {
      // No new async attempts start; the running ones finish, their results stored, before the process goes.
      // What is still queued stays in JetStream for the next gateway.
      const draining = asyncInvocations.stop();
      await server.close();
      await draining;
      await recorder.flush(Date.now() + 15_000).catch((err) => logger.error({ err: (err as Error).message }, "records lost at stop"));
      balancer.close();
      traceStore.close();
      await nc.drain();
      registry.close();
      tenants.close();
    },
  };
}, { tracing: startTracing });
