// Container state changes from NATS into the store: each event is checked, then committed with the others
// of its burst in one transaction.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../common/logger.js";
import { subjects, subscribeEvents } from "../../common/nats.js";
import { ContainerStateChangedSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import { containerEventProblem, type ContainerEventStore } from "./container-event-store.js";
import { GroupCommit } from "./group-commit.js";

// A drain waits for the NATS server; while it is unreachable, stopping must not wait forever.
const DRAIN_TIMEOUT_MS = 5000;

export interface ContainerEventIntakeOptions {
  readonly nc: NatsConnection;
  readonly store: ContainerEventStore;
  readonly logger: Logger;
  readonly batchDelayMs: number;
  readonly batchMaxRows: number;
}

export class ContainerEventIntake {
  readonly #writer: GroupCommit<ContainerStateChanged, boolean>;
  readonly #subscription: Subscription;
  readonly #logger: Logger;

  private constructor(options: ContainerEventIntakeOptions) {
    this.#logger = options.logger;
    this.#writer = new GroupCommit({
      maxDelayMs: options.batchDelayMs,
      maxWeight: options.batchMaxRows,
      commit: (events) => options.store.recordEvents(events),
    });
    this.#subscription = subscribeEvents(options.nc, subjects.allContainers, ContainerStateChangedSchema, options.logger, (event, subject) => {
      const problem = containerEventProblem(event);
      if (problem) {
        options.logger.warn({ subject, problem }, "container event dropped");
        return;
      }
      this.#writer.submit(event).catch((err: unknown) => options.logger.error({ err, nodeId: event.nodeId, sequence: String(event.sequence) }, "container event not stored"));
    });
  }

  /** Subscribes and waits until the NATS server knows it, so no event published afterwards is missed. */
  static async start(options: ContainerEventIntakeOptions): Promise<ContainerEventIntake> {
    const intake = new ContainerEventIntake(options);
    await options.nc.flush();
    return intake;
  }

  /** Takes the events already sent to us, commits every waiting event, and stops. */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), DRAIN_TIMEOUT_MS)));
    // `closed` settles after the iterator has handed every message received before the drain to the handler.
    const drained = this.#subscription
      .drain()
      .then(() => this.#subscription.closed)
      .then(() => "drained" as const);
    const outcome = await Promise.race([drained, timeout]).catch((err: unknown) => {
      this.#logger.warn({ err }, "draining container events failed");
      return "failed" as const;
    });
    clearTimeout(timer);
    if (outcome === "timeout") this.#logger.warn({ timeoutMs: DRAIN_TIMEOUT_MS }, "draining container events timed out");
    this.#writer.close();
  }
}
