// Protobuf events on NATS. Subjects and message types are fixed here so publishers and consumers agree.
// An event published on the path of a sampled invocation carries its W3C traceparent in the message
// headers; the consumer handles it in a span of that trace (the container an invocation took shows up,
// as the balancer and trace-store receive its new state, in the invocation's trace).
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { decodeMessage } from "./protobuf-binary-decoder.js";
import { encodeMessage } from "./protobuf-binary-encoder.js";
import { connect, headers, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";
import { contextFromTraceparent, inSpanSync, SpanKind } from "./trace-context.js";

const TRACEPARENT = "traceparent";

export const subjects = {
  containers: (nodeId: string) => `faas.containers.${nodeId}`,
  allContainers: "faas.containers.>",
  functions: "faas.functions",
  nodes: (nodeId: string) => `faas.nodes.${nodeId}`,
  allNodes: "faas.nodes.>",
  usage: (nodeId: string) => `faas.usage.${nodeId}`,
  allUsage: "faas.usage.>",
  zygotes: "faas.zygotes",
} as const;

export async function connectNats(servers: string, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: servers.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") logger.warn({ nats: s.type }, "nats status");
    }
  })();
  return nc;
}

/** traceparent: of the sampled trace the event is part of (trace-context.ts sampledTraceparent), or none. */
export function publishEvent<D extends DescMessage>(nc: NatsConnection, subject: string, schema: D, event: MessageShape<D>, traceparent = ""): void {
  if (!traceparent) return nc.publish(subject, encodeMessage(schema, event));
  const h = headers();
  h.set(TRACEPARENT, traceparent);
  nc.publish(subject, encodeMessage(schema, event), { headers: h });
}

/** Subscribes and decodes; a message that does not decode is logged and dropped, never thrown. */
export function subscribeEvents<D extends DescMessage>(
  nc: NatsConnection,
  subject: string,
  schema: D,
  logger: Logger,
  onEvent: (event: MessageShape<D>, subject: string) => void,
): Subscription {
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const msg of sub) {
      let event: MessageShape<D>;
      try {
        event = decodeMessage(schema, msg.data);
      } catch (err) {
        logger.warn({ subject: msg.subject, err: (err as Error).message }, "undecodable event dropped");
        continue;
      }
      const handle = () => {
        try {
          onEvent(event, msg.subject);
        } catch (err) {
          logger.error({ subject: msg.subject, err }, "event handler failed");
        }
      };
      const traceparent = msg.headers?.get(TRACEPARENT);
      if (!traceparent) handle();
      else inSpanSync(`${subject} receive`, contextFromTraceparent(traceparent), { kind: SpanKind.CONSUMER, attributes: { "messaging.system": "nats", "messaging.destination.name": msg.subject } }, handle);
    }
  })();
  return sub;
}
