// gRPC handlers of faas.balancer.v1: routes invocations to nodes and fans function changes out to them.
import { bind, type ServiceBinding } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../common/logger.js";
import { setOutcomeStatus } from "../../common/outcome-span.js";
import { contextFromTraceparent, inSpan, SpanKind, traceparentOf } from "../../common/trace-context.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import type { ClusterView, NodeState } from "./cluster-view.js";
import type { FunctionCatalog } from "./function-catalog.js";
import type { BalancerMetrics } from "./metrics.js";
import type { NodeClients } from "./node-clients.js";
import type { Dispatcher } from "./dispatcher.js";
import type { MeasuredCurve } from "./packing/curve.js";
import type { PackingModel } from "./packing/packing-model.js";
import { METRICS, OBJECTIVES, type CpuCapacity, type Metric, type Objective, type PackingSettings } from "./packing/planner.js";
import { fromNode, place } from "./placement.js";

export interface BalancerParts {
  readonly view: ClusterView;
  /** Dependencies of the deployed functions: which zygotes cover which function. */
  readonly functions: FunctionCatalog;
  readonly nodes: NodeClients;
  readonly logger: Logger;
  /** Resolves once at least one node is live, or rejects after the configured wait. */
  readonly liveNodes: () => Promise<NodeState[]>;
  /** The dispatch queues; absent: batching is off and each invocation goes on its own. */
  readonly dispatcher?: Dispatcher;
  readonly packing: { readonly model: PackingModel; readonly settings: PackingSettings };
  readonly metrics?: BalancerMetrics;
}

export function balancerService(p: BalancerParts) {
  return bind(BalancerService, {
      async invoke(req) {
        const fn = req.function;
        if (!fn?.name || !req.invocationId) throw new ConnectError("invocation_id and function are required", Code.InvalidArgument);
        // No span of the balancer's own around the call: its phases, the queue wait and the route to a
        // node, are the spans, children of the gateway's (a server span here would last as long as
        // they do together and double what every recorded invocation costs the balancer).
        const ctx = contextFromTraceparent(req.traceparent);
        await p.liveNodes();
        // Through the function's dispatch queue, when batching is on.
        if (p.dispatcher) return { outcome: await p.dispatcher.invoke(req, ctx) };
        const { node, done } = place(p.view, p.functions, fn, fn.limits?.maxConcurrency || 1);
        p.metrics?.routed(fn.name);
        const attributes = { "faas.function": fn.name, "faas.invocation_id": req.invocationId, "faas.node": node.nodeId };
        return inSpan("balancer.route", ctx, { kind: SpanKind.CLIENT, attributes }, async (span, routed) => {
          p.logger.debug({ invocation: req.invocationId, function: fn.name, node: node.nodeId }, "routed");
          try {
            const { outcome } = await p.nodes.get(node.address).invoke({ invocationId: req.invocationId, function: fn, payload: req.payload, traceparent: traceparentOf(routed) });
            // Failed like the dispatcher's route spans: node-manager has no span around the call to say it.
            if (outcome) setOutcomeStatus(span, outcome);
            return { outcome };
          } catch (err) {
            throw fromNode(err);
          } finally {
            done();
          }
        });
      },

      planPacking(req) {
        if (!req.function) throw new ConnectError("function is required", Code.InvalidArgument);
        if (req.invocations < 1) throw new ConnectError("invocations must be at least 1", Code.InvalidArgument);
        if (req.objective && !(OBJECTIVES as readonly string[]).includes(req.objective)) throw new ConnectError(`objective must be one of ${OBJECTIVES.join(", ")}`, Code.InvalidArgument);
        if (req.metric && !(METRICS as readonly string[]).includes(req.metric)) throw new ConnectError(`metric must be one of ${METRICS.join(", ")}`, Code.InvalidArgument);
        const limits = p.functions.limits(req.function);
        if (!limits) throw new ConnectError(`function ${req.function} is not known to the balancer`, Code.NotFound);
        const settings = { ...p.packing.settings, objective: (req.objective || p.packing.settings.objective) as Objective, metric: (req.metric || p.packing.settings.metric) as Metric };
        const plan = p.packing.model.plan(req.function, req.invocations, limits.memoryMb, limits.maxConcurrency, settings);
        if ("missing" in plan) throw new ConnectError(plan.missing, Code.FailedPrecondition);
        p.logger.info({ function: req.function, invocations: req.invocations, degree: plan.degree, objective: plan.objective, metric: plan.metric }, "packing plan asked for");
        return {
          degree: plan.degree,
          objective: plan.objective,
          metric: plan.metric,
          predictions: plan.predictions.map((x) => ({
            degree: x.degree,
            pieces: x.pieces,
            instances: x.instances,
            serviceSeconds: x.serviceS,
            pieceSeconds: x.pieceS,
            totalSeconds: x.totalS,
            medianSeconds: x.medianS,
            tailSeconds: x.tailS,
            costUsd: x.costUsd,
            score: x.score,
            cpuSeconds: x.cpuS,
            stretch: x.stretch,
          })),
          scaling: curveMessage(p.packing.model.scaling),
          service: curveMessage(p.packing.model.service(req.function)),
          maxInstances: p.packing.model.maxInstances ?? 0,
          pieceOverheadSeconds: p.packing.model.pieceOverhead ?? 0,
          cpu: cpuCapacityMessage(p.packing.model.cpu),
          round: curveMessage(p.packing.model.round(req.function)),
          billed: curveMessage(p.packing.model.billed(req.function)),
        };
      },

      async prepareFunction(req) {
        if (!req.spec?.name || !req.spec.digest) throw new ConnectError("spec with name and digest is required", Code.InvalidArgument);
        // The spec is the freshest word on the function's dependencies (faas.functions may lag or predate us).
        p.functions.deployed(req.spec);
        const nodes = await p.liveNodes();
        const results = await Promise.allSettled(nodes.map((n) => p.nodes.get(n.address).prepareFunction({ spec: req.spec, code: req.code })));
        const failures = results.flatMap((r, i) => (r.status === "rejected" ? [{ node: nodes[i].nodeId, err: ConnectError.from(r.reason) }] : []));
        if (failures.length > 0) {
          const first = failures[0].err;
          // A bad function (its dependencies do not install) fails everywhere the same way: say so as such.
          const code = failures.some((f) => f.err.code === Code.FailedPrecondition) ? Code.FailedPrecondition : first.code;
          throw new ConnectError(failures.map((f) => `node ${f.node}: ${f.err.rawMessage}`).join("; "), code);
        }
        return { nodes: nodes.map((n) => n.nodeId) };
      },

      async removeFunction(req) {
        if (!req.name) throw new ConnectError("name is required", Code.InvalidArgument);
        const nodes = p.view.live();
        const results = await Promise.allSettled(nodes.map((n) => p.nodes.get(n.address).removeFunction({ name: req.name })));
        results.forEach((r, i) => {
          if (r.status === "rejected") p.logger.warn({ node: nodes[i].nodeId, function: req.name, err: (r.reason as Error).message }, "remove on node failed");
        });
        return {};
      },

      listNodes() {
        return {
          nodes: p.view.live().map((n) => {
            let reserved = 0;
            const warm = new Set<string>();
            for (const c of n.containers.values()) {
              reserved += c.memoryMb;
              // Zygotes and stem cells serve no function ("").
              if (c.state === ContainerState.IDLE && c.function) warm.add(c.function);
            }
            return {
              nodeId: n.nodeId,
              address: n.address,
              memoryCapacityMb: n.capacityMb,
              memoryReservedMb: reserved,
              containers: n.containers.size,
              inflight: n.sentTotal,
              warmFunctions: [...warm].sort(),
              lastSeenUnixUs: BigInt(n.lastSeenMs) * 1000n,
            };
          }),
        };
      },
    });
}

function cpuCapacityMessage(c: CpuCapacity | undefined) {
  return c && { cores: c.cores, instanceSeconds: c.instanceS, pieceSeconds: c.pieceS, invocationSeconds: c.invocationS };
}

function curveMessage(c: MeasuredCurve | undefined) {
  return (c?.points ?? []).map((p) => ({ x: p.x, seconds: p.y }));
}
