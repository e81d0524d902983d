// zygote-builder: plans zygote package sets from the deployed functions, re-plans on every change, and
// builds the sets' zygote images (on request, on AssignFunction, and the popular set in the background).
import Docker from "dockerode";
import { connectNats, publishEvent, subjects, subscribeEvents } from "../../common/nats.js";
import { startTracing } from "../../common/tracing.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { FunctionEventSchema, ZygoteImageBuiltSchema } from "../../gen/faas/events/v1/events_pb.js";
import { resolveOperatorKey } from "../../common/operator-key.js";
import { GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { ZygoteBuilder } from "./builder.js";
import { loadZygoteBuilderConfig } from "./config.js";
import { serviceRegistry } from "../../common/metrics.js";
import { PlanState } from "./plan-state.js";
import { zygoteBuilderService } from "./service.js";
import { ZygoteImages } from "./zygote-images.js";

runService("zygote-builder", async (logger) => {
  const cfg = loadZygoteBuilderConfig();
  const docker = new Docker({ socketPath: cfg.dockerSocket });
  await docker.ping().catch((err: Error) => {
    throw new Error(`Docker engine not reachable at ${cfg.dockerSocket}: ${err.message}`);
  });
  const images = new ZygoteImages({ docker, runtimeImage: cfg.runtimeImage, buildDir: cfg.buildDir, npmInstallTimeoutMs: cfg.npmInstallTimeoutMs, logger });
  // Fails fast when the runtime image is missing; otherwise learns the zygote images built before a restart.
  const found = await images.scan();
  const state = new PlanState({ maxPackages: cfg.maxPackages, minSimilarity: cfg.minSimilarity });
  const nc = await connectNats(cfg.natsUrl, "zygote-builder", logger);
  const builder = new ZygoteBuilder({
    state,
    images,
    logger,
    publish: (e) => publishEvent(nc, subjects.zygotes, ZygoteImageBuiltSchema, e),
    buildPopular: cfg.buildPopular,
  });
  const sub = subscribeEvents(nc, subjects.functions, FunctionEventSchema, logger, (e) => {
    if (e.event.case === "deployed" && e.event.value.spec) state.deployed(e.event.value.spec);
    else if (e.event.case === "removed") state.removed(e.event.value.name);
    builder.replan(e.event.case ?? "event");
  });

  // The functions deployed before this process started: asked from the gateway, retried until it answers.
  const gateway = connectPeer(GatewayService, cfg.gatewayUrl);
  let stopped = false;
  void (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      state.beginSnapshot();
      try {
        // Read on each try: on a first start the gateway creates the key file.
        const { key } = resolveOperatorKey(cfg.operatorKey, cfg.operatorKeyFile, false);
        const res = await gateway.client.listFunctions({}, { timeoutMs: 5000, headers: { authorization: `Bearer ${key}` } });
        state.applySnapshot(res.functions);
        builder.replan("initial sync");
        return;
      } catch (err) {
        if (attempt === 0) logger.info({ err: (err as Error).message }, "gateway not reachable yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  })();

  // The process's own metrics; the plan itself is readable over gRPC (GetPlan).
  const server = await serve({ name: "zygote-builder", logger, services: [zygoteBuilderService(builder)], host: cfg.host, port: cfg.port, metrics: serviceRegistry("zygote-builder"), internalSecret: cfg.internalSecret });
  logger.info({ runtimeImage: cfg.runtimeImage, buildDir: cfg.buildDir, zygoteImages: found }, "zygote-builder ready");
  return {
    async stop() {
      stopped = true;
      await server.close();
      sub.unsubscribe();
      gateway.close();
      await nc.drain();
    },
  };
}, { tracing: startTracing });
