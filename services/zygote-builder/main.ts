// zygote-builder: plans zygote package sets from the deployed functions and re-plans on every change.
import { connectNats, subjects, subscribeEvents } from "../../common/nats.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { FunctionEventSchema } from "../../gen/faas/events/v1/events_pb.js";
import { GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { loadZygoteBuilderConfig } from "./config.js";
import { PlanState } from "./plan-state.js";
import { zygoteBuilderService } from "./service.js";

runService("zygote-builder", async (logger) => {
  const cfg = loadZygoteBuilderConfig();
  const state = new PlanState({ maxPackages: cfg.maxPackages, minSimilarity: cfg.minSimilarity });
  const replan = (why: string) => {
    if (state.replan()) logger.info({ why, generation: Number(state.plan.generation), sets: state.plan.sets.length }, "zygote plan changed");
  };
  const nc = await connectNats(cfg.natsUrl, "zygote-builder", logger);
  const sub = subscribeEvents(nc, subjects.functions, FunctionEventSchema, logger, (e) => {
    if (e.event.case === "deployed" && e.event.value.spec) state.deployed(e.event.value.spec);
    else if (e.event.case === "removed") state.removed(e.event.value.name);
    replan(e.event.case ?? "event");
  });

  // The functions deployed before this process started: asked from the gateway, retried until it answers.
  const gateway = connectPeer(GatewayService, cfg.gatewayUrl);
  let stopped = false;
  void (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      state.beginSnapshot();
      try {
        const res = await gateway.client.listFunctions({}, { timeoutMs: 5000 });
        state.applySnapshot(res.functions);
        replan("initial sync");
        return;
      } catch (err) {
        if (attempt === 0) logger.info({ err: (err as Error).message }, "gateway not reachable yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  })();

  const server = await serve({ name: "zygote-builder", logger, services: [zygoteBuilderService(state)], host: cfg.host, port: cfg.port });
  return {
    async stop() {
      stopped = true;
      await server.close();
      sub.unsubscribe();
      gateway.close();
      await nc.drain();
    },
  };
});
