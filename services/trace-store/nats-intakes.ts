// The NATS subscriptions of the trace-store: container state changes and usage samples, each batched
// into the store through its own group commit.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../common/logger.js";
import { subjects } from "../../common/nats.js";
import { ContainerStateChangedSchema, ContainerUsageSampledSchema } from "../../gen/faas/events/v1/events_pb.js";
import { containerEventProblem, type ContainerEventStore } from "./container-event-store.js";
import { EventIntake } from "./event-intake.js";
import { usageSampleProblem, type UsageSampleStore } from "./usage-sample-store.js";

export interface IntakeOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly batchDelayMs: number;
  readonly batchMaxRows: number;
}

export function startContainerEventIntake(o: IntakeOptions & { readonly store: ContainerEventStore }) {
  return EventIntake.start({
    ...o,
    subject: subjects.allContainers,
    schema: ContainerStateChangedSchema,
    what: "container event",
    problem: containerEventProblem,
    commit: (events) => o.store.recordEvents(events),
  });
}

export function startUsageSampleIntake(o: IntakeOptions & { readonly store: UsageSampleStore }) {
  return EventIntake.start({
    ...o,
    subject: subjects.allUsage,
    schema: ContainerUsageSampledSchema,
    what: "usage sample",
    problem: usageSampleProblem,
    // One row per container sampled; an empty sample still costs its place in the batch.
    weigh: (m) => Math.max(1, m.containers.length),
    commit: (messages) => o.store.recordSamples(messages),
  });
}
