// The node's metrics: its containers by role and state, the memory their limits hold against the node's,
// invocations running and waiting, and the containers it started by how (COLD, HELPER, PREWARM), read from
// the pool at each scrape or counted as the pool reports transitions.
import { Counter, Gauge, type Registry } from "prom-client";
import { serviceRegistry } from "../../common/metrics.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, type Transition } from "./container.js";
import type { ContainerPool } from "./pool.js";

export class NodeMetrics {
  readonly registry: Registry = serviceRegistry("node-manager");
  readonly #starts = new Counter({
    name: "faas_container_starts_total",
    help: "Containers that began serving a function, by how: COLD (created), HELPER (a zygote lent), PREWARM (a stem cell claimed).",
    labelNames: ["start_kind"] as const,
    registers: [this.registry],
  });
  readonly #zygotes = new Counter({ name: "faas_zygote_conversions_total", help: "Idle containers turned into zygotes in place.", registers: [this.registry] });

  constructor(pool: () => ContainerPool | undefined, capacityMb: number) {
    new Gauge({
      name: "faas_containers",
      help: "Live containers by role and state.",
      labelNames: ["role", "state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of pool()?.all() ?? []) this.inc({ role: ContainerRole[c.role], state: ContainerState[c.state] });
      },
    });
    new Gauge({
      name: "faas_memory_held_mb",
      help: "Memory the limits of the node's live containers hold.",
      registers: [this.registry],
      collect() {
        this.set(pool()?.reservedMb ?? 0);
      },
    });
    new Gauge({ name: "faas_memory_capacity_mb", help: "Memory the node gives to containers (NODE_MEMORY_MB).", registers: [this.registry] }).set(capacityMb);
    new Gauge({
      name: "faas_node_inflight",
      help: "Invocations running in the node's containers.",
      registers: [this.registry],
      collect() {
        this.set(pool()?.inflight ?? 0);
      },
    });
    new Gauge({
      name: "faas_node_queued",
      help: "Invocations waiting for a container slot on the node.",
      registers: [this.registry],
      collect() {
        this.set(pool()?.queued ?? 0);
      },
    });
  }

  /** A container's transition, as the pool reports it. */
  transition(t: Transition): void {
    if (t.to !== ContainerState.STARTING) return;
    if (t.container.role === ContainerRole.ZYGOTE && t.container.formerFunction) this.#zygotes.inc();
    else if (t.container.servesFunction) this.#starts.inc({ start_kind: StartKind[t.container.startKind] ?? "UNSPECIFIED" });
  }
}
