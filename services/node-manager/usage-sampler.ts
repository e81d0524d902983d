// Samples the resident memory of the node's running containers from their sidecars (the sidecar, its
// function workers and its template) and publishes it, so that memory-time is known from what containers
// really held, not only from their limits.
import { create } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { nowUnixUs } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { publishEvent, subjects } from "../../common/nats.js";
import { ContainerUsageSampledSchema, ContainerUsageSchema, type ContainerUsage } from "../../gen/faas/events/v1/events_pb.js";
import type { StatsResponse } from "../../gen/faas/sidecar/v1/sidecar_pb.js";
import { ContainerState } from "./container.js";
import type { ContainerPool } from "./pool.js";
import type { SandboxRuntime } from "./sandbox/runtime.js";

/** Bytes the container's processes hold, from one Stats answer. */
export function containerRssBytes(stats: StatsResponse): bigint {
  let sum = stats.sidecarRssBytes + stats.templateRssBytes;
  for (const w of stats.workers) sum += w.rssBytes;
  return sum;
}

export class UsageSampler {
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    private readonly o: { pool: ContainerPool; runtime: SandboxRuntime; nc: NatsConnection; nodeId: string; logger: Logger; intervalMs: number },
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.sample(), this.o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One sample of every ready container; a container that does not answer in time is left out. */
  async sample(): Promise<void> {
    if (this.#running) return; // a slow round is not stacked on
    this.#running = true;
    try {
      const ready = this.o.pool.all().filter((c) => c.sandbox && (c.state === ContainerState.IDLE || c.state === ContainerState.BUSY));
      const usage = await Promise.all(
        ready.map(async (c): Promise<ContainerUsage | undefined> => {
          try {
            const stats = await this.o.runtime.channel(c.sandbox!).client.stats({}, { timeoutMs: 1000 });
            return create(ContainerUsageSchema, { containerId: c.id, rssBytes: containerRssBytes(stats), memoryMb: c.memoryMb });
          } catch {
            return undefined;
          }
        }),
      );
      const containers = usage.filter((u): u is ContainerUsage => u !== undefined);
      if (containers.length === 0) return;
      publishEvent(this.o.nc, subjects.usage(this.o.nodeId), ContainerUsageSampledSchema, create(ContainerUsageSampledSchema, { nodeId: this.o.nodeId, atUnixUs: nowUnixUs(), containers }));
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "usage sample failed");
    } finally {
      this.#running = false;
    }
  }
}
