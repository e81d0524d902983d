// The span tree with the balancer's default (BATCHING_POLICY=off: each invocation routed on its own, no
// dispatch queue): what most users read in Jaeger. tracing.test.ts checks the tree with batching on.
import { randomBytes } from "node:crypto";
import test from "ava";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { onlySpan, OtlpReceiver } from "../helpers/otlp-receiver.js";
import { deployFixture, json, useMesh } from "../helpers/test-mesh.js";

const SPAN_STATUS_ERROR = 2;

let receiver: OtlpReceiver;
const allEnv: Record<string, string> = {};
test.serial.before(async () => {
  receiver = await OtlpReceiver.start();
  Object.assign(allEnv, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_SAMPLER: "parentbased_always_on", OTEL_BSP_SCHEDULE_DELAY: "100" });
});
const ctx = useMesh(test, { env: { all: allEnv } });
test.after.always(() => receiver?.close());

const traced = () => ({ timeoutMs: 60_000, metadata: { traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` } });
const traceIdOf = (options: ReturnType<typeof traced>) => options.metadata.traceparent.slice(3, 35);

test.serial("a warm invocation is four spans: the gateway's, the route to the node, and under it the acquire and main()", async (t) => {
  await deployFixture(ctx, "echo");
  t.is((await ctx.gateway.invoke({ function: "echo", payload: json({}) }, traced())).message.status, InvocationStatus.OK);
  const options = traced();
  const reply = await ctx.gateway.invoke({ function: "echo", payload: json({}) }, options);
  t.is(reply.message.status, InvocationStatus.OK, reply.message.error?.message);
  const spans = await receiver.waitForSpans(traceIdOf(options), ["gateway.invoke", "balancer.route", "node-manager.acquire", "function.execute"]);
  const gateway = onlySpan(spans, "gateway.invoke");
  const route = onlySpan(spans, "balancer.route");
  const acquire = onlySpan(spans, "node-manager.acquire");
  const exec = onlySpan(spans, "function.execute");
  t.is(route.parentSpanId, gateway.spanId);
  t.is(acquire.parentSpanId, route.spanId);
  t.is(exec.parentSpanId, route.spanId);
  t.is(acquire.attributes["faas.start_kind"], "WARM");
  t.is(route.attributes["faas.node"], reply.message.nodeId);
  // The balancer exports its spans in the order they end: a queue span would have come with the route's.
  t.false(spans.some((s) => s.name === "balancer.queue"), "no dispatch queue, no queue span");
  t.deepEqual(
    spans.filter((s) => s.service !== "faas-balancer" && s.service !== "faas-trace-store").map((s) => s.name).sort(),
    ["function.execute", "gateway.invoke", "node-manager.acquire"],
    "one span per phase from the gateway, node-manager and the sidecar (the rest: container events received over NATS)",
  );
});

test.serial("a function that throws fails the route span too", async (t) => {
  await deployFixture(ctx, "throws");
  const options = traced();
  const reply = await ctx.gateway.invoke({ function: "throws", payload: json({}) }, options);
  t.is(reply.message.status, InvocationStatus.FUNCTION_ERROR);
  const spans = await receiver.waitForSpans(traceIdOf(options), ["gateway.invoke", "balancer.route", "function.execute"]);
  t.is(onlySpan(spans, "balancer.route").status, SPAN_STATUS_ERROR);
  t.is(onlySpan(spans, "gateway.invoke").status, SPAN_STATUS_ERROR);
});
