// One invocation is one trace: a real OTLP/HTTP receiver in this process collects what every service
// and the sidecar (through node-manager's relay) export, and the test checks the span tree a user reads
// in Jaeger, the traceparent the function sees, and the trace ids on the log lines of the request.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import test from "ava";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { eventually } from "../helpers/eventually.js";
import { onlySpan, OtlpReceiver } from "../helpers/otlp-receiver.js";
import { deployFixture, json, parse, useMesh } from "../helpers/test-mesh.js";

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CONSUMER = 5;
const SPAN_STATUS_UNSET = 0;
const SPAN_STATUS_ERROR = 2;

let receiver: OtlpReceiver;
const allEnv: Record<string, string> = {};
test.serial.before(async () => {
  receiver = await OtlpReceiver.start();
  Object.assign(allEnv, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_TRACES_SAMPLER: "parentbased_always_on",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });
});
// Batching on, so that the dispatch queue's wait is a span of its own.
const ctx = useMesh(test, { env: { all: allEnv, balancer: { BATCHING_POLICY: "faasbatch", LOG_LEVEL: "debug" }, "node-manager": { LOG_LEVEL: "debug" } } });
test.after.always(() => receiver?.close());

const COLD_PATH = ["gateway.invoke", "balancer.queue", "balancer.route", "node-manager.acquire", "container.create", "function.execute"];

test.serial("a cold invocation is one trace: the caller's traceparent, every phase a span in the right place, the function's ctx inside it", async (t) => {
  await deployFixture(ctx, "echo");
  const callerTrace = randomBytes(16).toString("hex");
  const callerSpan = randomBytes(8).toString("hex");
  const reply = await ctx.gateway.invoke({ function: "echo", payload: json({}) }, { timeoutMs: 60_000, metadata: { traceparent: `00-${callerTrace}-${callerSpan}-01` } });
  t.is(reply.message.status, InvocationStatus.OK, reply.message.error?.message);
  t.deepEqual(reply.headers.get("faas-trace-id"), [callerTrace], "the answer names the trace");

  const spans = await receiver.waitForSpans(callerTrace, COLD_PATH);
  const gateway = onlySpan(spans, "gateway.invoke");
  const queue = onlySpan(spans, "balancer.queue");
  const route = onlySpan(spans, "balancer.route");
  const acquire = onlySpan(spans, "node-manager.acquire");
  const create = onlySpan(spans, "container.create");
  const exec = onlySpan(spans, "function.execute");

  // The tree.
  t.is(gateway.parentSpanId, callerSpan, "the gateway continues the caller's trace");
  t.is(queue.parentSpanId, gateway.spanId, "the balancer's phases are children of the gateway's span");
  t.is(route.parentSpanId, gateway.spanId);
  t.is(acquire.parentSpanId, route.spanId, "node-manager's acquire is a child of the balancer's call to it");
  t.is(create.parentSpanId, acquire.spanId);
  t.is(exec.parentSpanId, route.spanId, "the sidecar's spans sit beside the acquire, under the call to the node");
  t.true(exec.startNs >= acquire.endNs, "the function runs after its container was acquired");
  const init = spans.find((s) => s.name === "sidecar.init");
  if (init) t.is(init.parentSpanId, route.spanId, "the import it waited for sits beside main()");

  // Who exported what.
  t.is(gateway.service, "faas-gateway");
  t.is(route.service, "faas-balancer");
  t.is(queue.service, "faas-balancer");
  t.is(acquire.service, "faas-node-manager");
  t.is(exec.service, "faas-sidecar", "the sidecar's own span, relayed from a container without network");
  t.is(gateway.kind, SPAN_KIND_SERVER);

  // Attributes a user filters on.
  t.is(acquire.attributes["faas.start_kind"], "COLD");
  t.is(acquire.attributes["faas.coldstart"], true);
  t.is(acquire.attributes["faas.node"], reply.message.nodeId);
  t.is(acquire.attributes["faas.container"], reply.message.containerId);
  t.is(gateway.attributes["faas.start_kind"], "COLD");
  t.is(gateway.attributes["faas.function"], ctx.mesh.qualified("echo"));
  t.is(gateway.attributes["faas.tenant"], ctx.mesh.tenant);
  t.is(gateway.attributes["faas.container"], reply.message.containerId);
  t.is(gateway.attributes["faas.node"], reply.message.nodeId);
  t.is(queue.attributes["faas.batch.size"], 1);
  t.is(typeof queue.attributes["faas.batch.id"], "string");
  t.is(exec.attributes["faas.status"], "OK");
  t.is(exec.attributes["faas.invocation_id"], gateway.attributes["faas.invocation_id"]);

  // Every phase lies inside the gateway's span (one host clock; 1 ms for rounding of measured phases).
  const slack = 1_000_000n;
  for (const s of spans.filter((x) => COLD_PATH.includes(x.name))) {
    t.true(s.startNs + slack >= gateway.startNs && s.endNs <= gateway.endNs + slack, `${s.name} inside gateway.invoke`);
  }
  t.true(create.endNs - create.startNs > 10_000_000n, "a container start takes more than 10 ms");

  // The new container's first event (STARTING), published on the acquire's path, is received in the trace
  // over NATS by the balancer and trace-store.
  const received = await eventually(
    () => {
      const consumers = receiver.trace(callerTrace).filter((s) => s.kind === SPAN_KIND_CONSUMER);
      return new Set(consumers.map((s) => s.service)).size === 2 && consumers;
    },
    "the container event's consumer spans in the trace",
    30_000,
  );
  for (const c of received) t.is(c.parentSpanId, acquire.spanId, `${c.service} received the event the acquire published`);

  // The function runs inside function.execute.
  t.is(parse(reply.message.output).traceparent, `00-${callerTrace}-${exec.spanId}-01`);
  t.deepEqual(receiver.rejected, []);
  t.deepEqual([...new Set(receiver.encodings)], ["protobuf"], "every process exports the default encoding, OTLP protobuf");
});

test.serial("a warm invocation starts its own trace, its acquire says WARM, and the container events it publishes join it over NATS", async (t) => {
  const reply = await ctx.gateway.invoke({ function: "echo", payload: json({}) }, { timeoutMs: 60_000 });
  t.is(reply.message.status, InvocationStatus.OK, reply.message.error?.message);
  const [traceId] = reply.headers.get("faas-trace-id") as string[];
  t.regex(traceId, /^[0-9a-f]{32}$/);
  const spans = await receiver.waitForSpans(traceId, ["gateway.invoke", "node-manager.acquire", "function.execute"]);
  t.is(onlySpan(spans, "gateway.invoke").parentSpanId, "", "no caller: the gateway's span is the root");
  t.is(onlySpan(spans, "node-manager.acquire").attributes["faas.start_kind"], "WARM");
  t.false(spans.some((s) => s.name === "container.create"), "no container was created");

  // The container event published inside the invocation (the container it took went busy) is received in its trace.
  const consumed = await eventually(() => receiver.trace(traceId).find((s) => s.kind === SPAN_KIND_CONSUMER), "a NATS consumer span in the trace", 30_000);
  t.true(receiver.trace(traceId).some((s) => s.spanId === consumed.parentSpanId && s.service === "faas-node-manager"), "its parent is a node-manager span");
});

test.serial("a function that throws marks the invocation's spans failed, from main() up to the gateway's", async (t) => {
  await deployFixture(ctx, "throws");
  const traceId = randomBytes(16).toString("hex");
  const reply = await ctx.gateway.invoke({ function: "throws", payload: json({}) }, { timeoutMs: 60_000, metadata: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` } });
  t.is(reply.message.status, InvocationStatus.FUNCTION_ERROR);
  const spans = await receiver.waitForSpans(traceId, ["gateway.invoke", "balancer.route", "node-manager.acquire", "function.execute"]);
  for (const name of ["gateway.invoke", "balancer.route", "function.execute"]) t.is(onlySpan(spans, name).status, SPAN_STATUS_ERROR, `${name} is failed`);
  t.is(onlySpan(spans, "node-manager.acquire").status, SPAN_STATUS_UNSET, "its container was acquired");
});

test.serial("log lines written inside a request carry its trace and span ids", async (t) => {
  const traceId = randomBytes(16).toString("hex");
  const reply = await ctx.gateway.invoke({ function: "echo", payload: json({}) }, { timeoutMs: 60_000, metadata: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` } });
  t.is(reply.message.status, InvocationStatus.OK);
  await receiver.waitForSpans(traceId, ["balancer.route", "node-manager.acquire"]);
  // Debug lines are written on every invocation: they must carry the ids of one of the trace's spans.
  const lines = await eventually(
    () => {
      const found = ["balancer", "node-manager"].flatMap((service) =>
        fs
          .readFileSync(ctx.mesh.logFile(service as "balancer"), "utf8")
          .split("\n")
          .filter((l) => l.includes(traceId))
          .map((l) => JSON.parse(l) as { service: string; trace_id: string; span_id: string }),
      );
      return new Set(found.map((l) => l.service)).size === 2 && found;
    },
    "log lines of the trace in the balancer's and node-manager's logs",
    30_000,
  );
  // A line's span may be exported in a later batch than the two waited for (a busy machine): wait for it.
  const spanIds = await eventually(
    () => {
      const ids = new Set(receiver.trace(traceId).map((s) => s.spanId));
      return lines.every((l) => ids.has(l.span_id)) && ids;
    },
    "the spans the log lines name, in the trace",
    30_000,
  ).catch(() => new Set(receiver.trace(traceId).map((s) => s.spanId)));
  for (const l of lines) {
    t.is(l.trace_id, traceId);
    t.true(spanIds.has(l.span_id), `${l.service}'s line names one of the trace's spans`);
  }
});
