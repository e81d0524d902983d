// SOCK's popular package set as this node knows it: zygote-builder's plan names it, and once its image is
// built (a ZygoteImageBuilt event says so) the sock policy may start zygotes from it.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../common/logger.js";
import { subjects, subscribeEvents } from "../../common/nats.js";
import { ZygoteImageBuiltSchema } from "../../gen/faas/events/v1/events_pb.js";
import type { PackageSetView } from "./policies/policy.js";
import type { ZygoteAssigner } from "./zygote-assigner.js";

/** Plans are re-read this often too, in case an event was missed. */
const REFRESH_MS = 30_000;

export class PopularSet {
  #current: PackageSetView | undefined;
  #sub: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { assigner: ZygoteAssigner; nc: NatsConnection; logger: Logger }) {}

  get current(): PackageSetView | undefined {
    return this.#current;
  }

  start(): void {
    this.#sub = subscribeEvents(this.o.nc, subjects.zygotes, ZygoteImageBuiltSchema, this.o.logger, () => void this.refresh());
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
    void this.refresh();
  }

  stop(): void {
    this.#sub?.unsubscribe();
    clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    const popular = (await this.o.assigner.plan())?.popular;
    if (!popular?.image) return;
    if (popular.id !== this.#current?.id) this.o.logger.info({ set: popular.id, packages: Object.keys(popular.packages).length }, "popular package set ready");
    this.#current = { id: popular.id, image: popular.image, packages: new Map(Object.entries(popular.packages)), functions: popular.functions };
  }
}
