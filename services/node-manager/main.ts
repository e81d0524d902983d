// node-manager: owns the function containers of one host.
import Docker from "dockerode";
import { systemClock } from "../../common/clock.js";
import { connectNats } from "../../common/nats.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { loadNodeManagerConfig } from "./config.js";
import { NodeEvents } from "./events.js";
import { FunctionImages } from "./function-images.js";
import { Node } from "./node.js";
import { keepAlivePolicy } from "./policies/keepalive.js";
import { ContainerPool } from "./pool.js";
import { CpuMeter } from "./cpu-meter.js";
import { DockerRuntime } from "./sandbox/docker-runtime.js";
import { nodeManagerService } from "./service.js";

runService("node-manager", async (logger) => {
  const cfg = loadNodeManagerConfig();
  const docker = new Docker({ socketPath: cfg.dockerSocket });
  await docker.ping().catch((err: Error) => {
    throw new Error(`Docker engine not reachable at ${cfg.dockerSocket}: ${err.message}`);
  });
  const images = new FunctionImages({ docker, runtimeImage: cfg.runtimeImage, buildDir: cfg.buildDir, npmInstallTimeoutMs: cfg.npmInstallTimeoutMs });
  await images.checkRuntimeImage();
  const nc = await connectNats(cfg.natsUrl, `node-manager-${cfg.nodeId}`, logger);
  const events = new NodeEvents(nc, cfg.nodeId);
  const runtime = new DockerRuntime({ docker, runDir: cfg.runDir, namePrefix: `faas-${cfg.nodeId}`, startTimeoutMs: cfg.startTimeoutMs, pidsLimit: cfg.pidsLimit });
  const pool = new ContainerPool({
    runtime,
    clock: systemClock,
    logger,
    memoryCapacityMb: cfg.memoryMb,
    keyPrefix: cfg.nodeId,
    idleAfterMs: cfg.idleAfterMs,
    maxStarts: cfg.maxStarts,
    cpuSaturated: () => cpu.utilisation >= cfg.scaleUpCpuLimit,
    onTransition: (t) => events.containerChanged(t),
  });
  // The pool asks the meter before scaling out; the meter has the pool look again after each reading.
  const cpu = new CpuMeter(500, () => pool.reconsider());
  const node = new Node({ nodeId: cfg.nodeId, images, pool, runtime, clock: systemClock, logger, capacityWaitMs: cfg.capacityWaitMs, startTimeoutMs: cfg.startTimeoutMs });
  await node.reconcile();

  const policy = keepAlivePolicy(cfg.keepAliveMs);
  const reaper = setInterval(() => pool.apply(policy.decide(pool.view(), systemClock.now())), cfg.reaperIntervalMs);
  const server = await serve({ name: "node-manager", logger, services: [nodeManagerService(node, pool)], host: cfg.host, port: cfg.port, readMaxBytes: 256 * 1024 * 1024 });
  const address = cfg.advertiseUrl || server.url;
  events.heartbeat(pool, address);
  const heartbeat = setInterval(() => events.heartbeat(pool, address), cfg.heartbeatMs);
  logger.info({ nodeId: cfg.nodeId, memoryMb: cfg.memoryMb, policy: policy.name, runDir: cfg.runDir }, "node ready");

  return {
    async stop() {
      clearInterval(reaper);
      cpu.stop();
      clearInterval(heartbeat);
      await server.close();
      // Like OpenWhisk's invoker, a graceful stop removes the node's containers; a crash leaves them to be adopted.
      await pool.removeAll("node-manager stopped");
      await nc.drain();
    },
  };
});
