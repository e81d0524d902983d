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

  /** The pool the gauges read at each scrape; set once it exists (it reports its transitions here). */
  #pool: ContainerPool | undefined;

  constructor(capacityMb: number) {
    const pool = () => this.#pool;
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
    const read = (name: string, help: string, value: (p: ContainerPool) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const p = pool();
          this.set(p ? value(p) : 0);
        },
      });
    read("faas_memory_held_mb", "Memory the limits of the node's live containers hold.", (p) => p.reservedMb);
    read("faas_node_inflight", "Invocations running in the node's containers.", (p) => p.inflight);
    read("faas_node_queued", "Invocations waiting for a container slot on the node.", (p) => p.queued);
    new Gauge({ name: "faas_memory_capacity_mb", help: "Memory the node gives to containers (NODE_MEMORY_MB).", registers: [this.registry] }).set(capacityMb);
  }

  watchPool(pool: ContainerPool): void {
    this.#pool = pool;
  }

  /** A container's transition, as the pool reports it. */
  transition(t: Transition): void {
    if (t.to !== ContainerState.STARTING) return;
    if (t.container.role === ContainerRole.ZYGOTE && t.container.formerFunction) this.#zygotes.inc();
    else if (t.container.servesFunction) this.#starts.inc({ start_kind: StartKind[t.container.startKind] ?? "UNSPECIFIED" });
  }
}
