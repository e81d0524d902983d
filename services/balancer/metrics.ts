// The balancer's metrics: its dispatch queues (depth, batches sent and their sizes, invocations refused
// for a full queue) and the invocations it routed directly (BATCHING_POLICY=off).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { serviceRegistry } from "../../common/metrics.js";

export class BalancerMetrics {
  readonly registry: Registry = serviceRegistry("balancer");
  #depths: () => ReadonlyMap<string, number> = () => new Map();
  readonly #routed = new Counter({ name: "faas_balancer_routed_total", help: "Invocations routed to a node one by one (no dispatch queue).", labelNames: ["function"] as const, registers: [this.registry] });
  readonly #batches = new Histogram({
    name: "faas_batch_size",
    help: "Invocations per batch the dispatch queue sent.",
    labelNames: ["function"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });
  readonly #refused = new Counter({ name: "faas_dispatch_refused_total", help: "Invocations refused with RESOURCE_EXHAUSTED: their function's queue was full.", labelNames: ["function"] as const, registers: [this.registry] });

  constructor() {
    const depths = () => this.#depths();
    new Gauge({
      name: "faas_dispatch_queue_depth",
      help: "Invocations waiting in a function's dispatch queue.",
      labelNames: ["function"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [fn, n] of depths()) this.set({ function: fn }, n);
      },
    });
  }

  /** Where the queue depths are read from at each scrape. */
  watchQueues(depths: () => ReadonlyMap<string, number>): void {
    this.#depths = depths;
  }

  routed(fn: string): void {
    this.#routed.inc({ function: fn });
  }

  batchSent(fn: string, size: number): void {
    this.#batches.observe({ function: fn }, size);
  }

  refused(fn: string): void {
    this.#refused.inc({ function: fn });
  }
}
