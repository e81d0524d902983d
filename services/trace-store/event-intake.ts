// Facts from NATS into the store: each message is decoded and checked, then committed with the others of
// its burst in one transaction (group commit), so a burst costs a few commits, not one per message.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../common/logger.js";
import { subscribeEvents } from "../../common/nats.js";
import { GroupCommit } from "./group-commit.js";

// A drain waits for the NATS server; while it is unreachable, stopping must not wait forever.
const DRAIN_TIMEOUT_MS = 5000;

export interface EventIntakeOptions<D extends DescMessage, R> {
  readonly nc: NatsConnection;
  readonly subject: string;
  readonly schema: D;
  /** What the messages are, for logs ("container event"). */
  readonly what: string;
  readonly logger: Logger;
  /** Why a message cannot be stored (it is logged and dropped), or undefined. */
  readonly problem: (message: MessageShape<D>) => string | undefined;
  /** Rows a message writes; 1 when omitted. */
  readonly weigh?: (message: MessageShape<D>) => number;
  /** Writes the messages in one transaction, one result per message. */
  readonly commit: (messages: MessageShape<D>[]) => R[];
  readonly batchDelayMs: number;
  readonly batchMaxRows: number;
}

export class EventIntake<D extends DescMessage, R = unknown> {
  readonly #writer: GroupCommit<MessageShape<D>, R>;
  readonly #subscription: Subscription;
  readonly #logger: Logger;
  readonly #what: string;

  private constructor(o: EventIntakeOptions<D, R>) {
    this.#logger = o.logger;
    this.#what = o.what;
    this.#writer = new GroupCommit({ maxDelayMs: o.batchDelayMs, maxWeight: o.batchMaxRows, weigh: o.weigh, commit: o.commit });
    this.#subscription = subscribeEvents(o.nc, o.subject, o.schema, o.logger, (message, subject) => {
      const problem = o.problem(message);
      if (problem) {
        o.logger.warn({ subject, problem }, `${o.what} dropped`);
        return;
      }
      this.#writer.submit(message).catch((err: unknown) => o.logger.error({ err, subject }, `${o.what} not stored`));
    });
  }

  /** Subscribes and waits until the NATS server knows it, so no message published afterwards is missed. */
  static async start<D extends DescMessage, R>(options: EventIntakeOptions<D, R>): Promise<EventIntake<D, R>> {
    const intake = new EventIntake(options);
    await options.nc.flush();
    return intake;
  }

  /** Takes the messages already sent to us, commits every waiting one, and stops. */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), DRAIN_TIMEOUT_MS)));
    // `closed` settles after the iterator has handed every message received before the drain to the handler.
    const drained = this.#subscription
      .drain()
      .then(() => this.#subscription.closed)
      .then(() => "drained" as const);
    const outcome = await Promise.race([drained, timeout]).catch((err: unknown) => {
      this.#logger.warn({ err }, `draining ${this.#what}s failed`);
      return "failed" as const;
    });
    clearTimeout(timer);
    if (outcome === "timeout") this.#logger.warn({ timeoutMs: DRAIN_TIMEOUT_MS }, `draining ${this.#what}s timed out`);
    this.#writer.close();
  }
}
