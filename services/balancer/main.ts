// balancer: routes invocations to nodes from a live view of their containers learnt on NATS.
import { Code, ConnectError } from "@connectrpc/connect";
import { nowUnixUs, systemClock } from "../../common/clock.js";
import { connectNats, subjects, subscribeEvents } from "../../common/nats.js";
import { startTracing } from "../../common/tracing.js";
import { runService } from "../../common/process.js";
import { serve } from "../../common/server.js";
import { ContainerStateChangedSchema, FunctionEventSchema, NodeHeartbeatSchema } from "../../gen/faas/events/v1/events_pb.js";
import { ClusterView, type NodeState } from "./cluster-view.js";
import { loadBalancerConfig } from "./config.js";
import { FunctionCatalog } from "./function-catalog.js";
import { NodeClients } from "./node-clients.js";
import { Dispatcher } from "./dispatcher.js";
import { BalancerMetrics } from "./metrics.js";
import { PackingModel } from "./packing/packing-model.js";
import { balancerService } from "./service.js";

runService("balancer", async (logger) => {
  const cfg = loadBalancerConfig();
  const nodes = new NodeClients(512 * 1024 * 1024, cfg.internalSecret);
  const resync = async (node: NodeState) => {
    const takenAtUs = nowUnixUs();
    try {
      const res = await nodes.get(node.address).listContainers({}, { timeoutMs: 5000 });
      view.replaceContainers(node.nodeId, res.containers, takenAtUs);
    } catch (err) {
      logger.warn({ node: node.nodeId, err: (err as Error).message }, "listing a node's containers failed");
    }
  };
  const view = new ClusterView(systemClock, cfg.nodeStaleMs, (node) => {
    logger.info({ node: node.nodeId, address: node.address }, "node live");
    void resync(node);
  });
  const liveNodes = async (): Promise<NodeState[]> => {
    const live = await view.whenLive(cfg.nodeWaitMs);
    if (live.length === 0) throw new ConnectError(`no live node (none sent a heartbeat within ${cfg.nodeStaleMs} ms)`, Code.Unavailable);
    return live;
  };

  const functions = new FunctionCatalog();
  const nc = await connectNats(cfg.natsUrl, "balancer", logger);
  const subs = [
    // Functions deployed before this balancer started stay unknown (only stem cells serve them without a
    // cold start) until they are redeployed or prepared again through it.
    subscribeEvents(nc, subjects.functions, FunctionEventSchema, logger, (e) => {
      if (e.event.case === "deployed" && e.event.value.spec) functions.deployed(e.event.value.spec);
      else if (e.event.case === "removed") functions.removed(e.event.value.name);
    }),
    subscribeEvents(nc, subjects.allNodes, NodeHeartbeatSchema, logger, (hb) => view.heartbeat(hb)),
    subscribeEvents(nc, subjects.allContainers, ContainerStateChangedSchema, logger, (e) => view.containerChanged(e)),
  ];
  const resyncTimer = setInterval(() => view.live().forEach((n) => void resync(n)), cfg.resyncMs);
  const packing = {
    model: cfg.packingProfile ? PackingModel.fromFile(cfg.packingProfile) : new PackingModel(),
    settings: {
      objective: cfg.packingObjective,
      metric: cfg.packingMetric,
      usdPerGbSecond: cfg.packingUsdPerGbSecond,
      costWeight: cfg.packingCostWeight,
      timeWeight: cfg.packingTimeWeight,
      tailPercentile: 99,
    },
  };
  const metrics = new BalancerMetrics();
  const dispatcher =
    cfg.batching === "off"
      ? undefined
      : new Dispatcher({
          policy: cfg.batching,
          inputs: {
            windowMs: cfg.batchWindowMs,
            adaptive: { stepMs: cfg.batchWindowStepMs, maxMs: cfg.batchWindowMaxMs, idleResetMs: cfg.batchIdleResetMs },
            maxBatchSize: cfg.batchMaxSize,
            maxQueued: cfg.batchMaxQueued,
            packingDegree: cfg.batchPackingDegree || undefined,
            packingInstances: cfg.batchPackingInstances || undefined,
            sloMs: cfg.batchSloMs,
          },
          clock: systemClock,
          view,
          functions,
          nodes,
          logger,
          packing,
          metrics,
        });
  if (dispatcher) metrics.watchQueues(() => dispatcher.queueDepths());
  const server = await serve({ name: "balancer", logger, services: [balancerService({ view, functions, nodes, logger, liveNodes, dispatcher, packing, metrics })], metrics: metrics.registry, host: cfg.host, port: cfg.port, readMaxBytes: 512 * 1024 * 1024, internalSecret: cfg.internalSecret });

  return {
    async stop() {
      clearInterval(resyncTimer);
      // Queued invocations are sent, not dropped, before the server stops.
      await dispatcher?.drain();
      await server.close();
      for (const s of subs) s.unsubscribe();
      await nc.drain();
      nodes.closeAll();
    },
  };
}, { tracing: startTracing });
