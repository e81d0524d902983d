// node-manager: owns the function containers of one host.
import * as path from "node:path";
import Docker from "dockerode";
import { systemClock } from "../../common/clock.js";
import { connectNats } from "../../common/nats.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { startTracing } from "../../common/tracing.js";
import { loadTracingConfig, tracesUrl } from "../../common/tracing-config.js";
import { loadNodeManagerConfig } from "./config.js";
import { NodeEvents } from "./events.js";
import { FunctionCatalog } from "./function-catalog.js";
import { FunctionImages } from "./function-images.js";
import { Node } from "./node.js";
import { LABELS } from "./labels.js";
import { createPolicy } from "./policies/index.js";
import { NodeMetrics } from "./metrics.js";
import { OtlpRelay } from "./otlp-relay.js";
import { ContainerPool } from "./pool.js";
import { PopularSet } from "./popular-set.js";
import { UsageSampler } from "./usage-sampler.js";
import { ZygoteAssigner } from "./zygote-assigner.js";
import { CpuMeter } from "./cpu-meter.js";
import { DockerRuntime } from "./sandbox/docker-runtime.js";
import { nodeManagerService } from "./service.js";

runService("node-manager", async (logger) => {
  const cfg = loadNodeManagerConfig();
  const docker = new Docker({ socketPath: cfg.dockerSocket });
  await docker.ping().catch((err: Error) => {
    throw new Error(`Docker engine not reachable at ${cfg.dockerSocket}: ${err.message}`);
  });
  const images = new FunctionImages({ docker, runtimeImage: cfg.runtimeImage, buildDir: cfg.buildDir, codeStoreDir: cfg.codeDir, npmInstallTimeoutMs: cfg.npmInstallTimeoutMs });
  await images.checkRuntimeImage();
  const nc = await connectNats(cfg.natsUrl, `node-manager-${cfg.nodeId}`, logger);
  const events = new NodeEvents(nc, cfg.nodeId);
  // Spans exported by this process are relayed for the containers' sidecars too.
  const otlpTarget = tracesUrl(loadTracingConfig());
  const relay = otlpTarget ? await OtlpRelay.start(path.join(cfg.runDir, "otlp"), otlpTarget, logger) : undefined;
  const runtime = new DockerRuntime({ docker, runDir: cfg.runDir, namePrefix: `faas-${cfg.nodeId}`, startTimeoutMs: cfg.startTimeoutMs, pidsLimit: cfg.pidsLimit, defaultCpus: cfg.cpusPerWorker, tmpfsMb: cfg.tmpfsMb, otlpRelayDir: relay?.dir });
  const policy = createPolicy(cfg.policy, {
    keepAliveMs: cfg.keepAliveMs,
    stemCells: cfg.stemCells,
    zygotes: cfg.sockZygotes,
    defaultZygoteTimeMs: cfg.zygoteTimeDefaultMs,
    minArrivals: cfg.zygoteMinArrivals,
    maxLendersPerFunction: cfg.maxLendersPerFunction,
    zygotesFromHelpers: cfg.zygotesFromHelpers,
    convertOnDemand: cfg.zygoteOnDemand,
    reserveZygotes: cfg.zygoteReserve,
    fallbackKeepAliveMs: cfg.histogramFallbackKeepAliveMs || cfg.keepAliveMs,
  });
  const assigner = new ZygoteAssigner({ url: cfg.zygoteBuilderUrl, internalSecret: cfg.internalSecret, npmInstallTimeoutMs: cfg.npmInstallTimeoutMs, logger });
  const popular = new PopularSet({ assigner, nc, logger });
  if (cfg.policy === "sock") popular.start();
  // Spares wait for a function: FAAS_FUNCTION_NAME empty makes the sidecar boot as a zygote.
  const spareSpec = (image: string, role: string) => ({
    image,
    memoryMb: cfg.spareMemoryMb,
    cpus: cfg.cpusPerWorker,
    labels: { [LABELS.node]: cfg.nodeId, [LABELS.role]: role },
    env: { FAAS_FUNCTION_NAME: "", FAAS_MEMORY_MB: String(cfg.spareMemoryMb) },
  });
  const metrics = new NodeMetrics(cfg.memoryMb);
  const pool = new ContainerPool({
    policy,
    crossTenantSharing: cfg.crossTenantSharing,
    spareMemoryMb: cfg.spareMemoryMb,
    zygoteMemoryMb: cfg.zygoteMemoryMb,
    spares: { stemCell: () => spareSpec(cfg.runtimeImage, "stem-cell"), zygote: (set) => spareSpec(set.image, "zygote") },
    popularSet: () => popular.current,
    runtime,
    clock: systemClock,
    logger,
    memoryCapacityMb: cfg.memoryMb,
    keyPrefix: cfg.nodeId,
    idleAfterMs: cfg.idleAfterMs,
    maxStarts: cfg.maxStarts,
    cpuSaturated: () => cpu.utilisation >= cfg.scaleUpCpuLimit,
    onTransition: (t) => {
      events.containerChanged(t);
      metrics.transition(t);
    },
  });
  metrics.watchPool(pool);
  // The pool asks the meter before scaling out; the meter has the pool look again after each reading.
  const cpu = new CpuMeter(500, () => pool.reconsider());
  const catalog = new FunctionCatalog({ images, assigner, logger });
  const node = new Node({ nodeId: cfg.nodeId, catalog, pool, runtime, clock: systemClock, logger, capacityWaitMs: cfg.capacityWaitMs, startTimeoutMs: cfg.startTimeoutMs, allowHostNetwork: cfg.allowHostNetwork, nonRoot: cfg.containerNonRoot, cpusPerWorker: cfg.cpusPerWorker });
  await node.reconcile();

  const reaper = setInterval(() => pool.tick(), cfg.reaperIntervalMs);
  const usage = new UsageSampler({ pool, runtime, nc, nodeId: cfg.nodeId, logger, intervalMs: cfg.usageSampleMs });
  usage.start();
  const server = await serve({ name: "node-manager", logger, services: [nodeManagerService(node, pool)], metrics: metrics.registry, host: cfg.host, port: cfg.port, readMaxBytes: 256 * 1024 * 1024, internalSecret: cfg.internalSecret });
  const address = cfg.advertiseUrl || server.url;
  events.heartbeat(pool, address);
  const heartbeat = setInterval(() => events.heartbeat(pool, address), cfg.heartbeatMs);
  logger.info({ nodeId: cfg.nodeId, memoryMb: cfg.memoryMb, policy: policy.name, runDir: cfg.runDir }, "node ready");

  return {
    async stop() {
      clearInterval(reaper);
      usage.stop();
      popular.stop();
      cpu.stop();
      clearInterval(heartbeat);
      await server.close();
      // Like OpenWhisk's invoker, a graceful stop removes the node's containers; a crash leaves them to be adopted.
      await pool.removeAll("node-manager stopped");
      assigner.close();
      await relay?.close();
      // The removals' transitions are still queued for the next turn, by when the connection would be draining.
      events.flush();
      await nc.drain();
    },
  };
}, { tracing: startTracing });
