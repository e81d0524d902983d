// The gateway's metrics: every invocation it answers, by function, status and start kind, and how long
// each phase of it took (from the record's timings), the latency breakdown a dashboard plots.
import { Counter, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS_S, serviceRegistry } from "../../common/metrics.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import type { InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";

const PHASES = ["queued", "startup", "init", "exec", "total"] as const;

export class GatewayMetrics {
  readonly registry: Registry = serviceRegistry("gateway");
  readonly #invocations = new Counter({
    name: "faas_invocations_total",
    help: "Invocations answered, by function, status and start kind.",
    labelNames: ["function", "status", "start_kind"] as const,
    registers: [this.registry],
  });
  readonly #phases = new Histogram({
    name: "faas_invocation_phase_seconds",
    help: "Time of each phase of an invocation: queued (waiting for a container), startup, init (module import), exec, total (gateway receive to answer).",
    labelNames: ["function", "phase"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });

  invocation(r: InvocationRecord): void {
    this.#invocations.inc({ function: r.function, status: InvocationStatus[r.status] ?? String(r.status), start_kind: StartKind[r.startKind] ?? String(r.startKind) });
    const t = r.timings;
    if (!t) return;
    const us = { queued: t.queuedUs, startup: t.startupUs, init: t.initUs, exec: t.execUs, total: t.totalUs };
    for (const phase of PHASES) this.#phases.observe({ function: r.function, phase }, Number(us[phase]) / 1e6);
  }
}
