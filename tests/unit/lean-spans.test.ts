// The mesh's lean spans against the SDK's: the same calls on a LeanTracer and on the SDK's tracer, with
// the same ids, give the same OTLP request (decoded and compared, through upstream's serializer and
// through ours), the same sampling decisions, and exactly one export per span.
import test from "ava";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Tracer } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type ReadableSpan,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { LeanSpan, LeanTracer } from "../../common/lean-spans.js";
import { encodeSpans } from "../../common/otlp-span-encoder.js";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/trace/v1/otlp_traces_pb.js";

/** Ids from a counter: both tracers get the same ones in the same order. */
function countingIds(): IdGenerator {
  let n = 0;
  const hex = (width: number) => (++n).toString(16).padStart(width, "0");
  return { generateTraceId: () => hex(32), generateSpanId: () => hex(16) };
}

const resource = resourceFromAttributes({ "service.name": "faas-gateway", "service.namespace": "faas" });

function sdkTracer(sampler: Sampler = new AlwaysOnSampler()): { tracer: Tracer; spans: () => ReadableSpan[] } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, sampler, idGenerator: countingIds(), spanProcessors: [new SimpleSpanProcessor(memory)] });
  return { tracer: provider.getTracer("faas-mesh"), spans: () => memory.getFinishedSpans() };
}

function leanTracer(sampler: Sampler = new AlwaysOnSampler()): { tracer: LeanTracer; spans: () => ReadableSpan[] } {
  const memory = new InMemorySpanExporter();
  const tracer = new LeanTracer({ processor: new SimpleSpanProcessor(memory), sampler, resource, scope: { name: "faas-mesh" }, idGenerator: countingIds() });
  return { tracer, spans: () => memory.getFinishedSpans() };
}

const decode = (bytes: Uint8Array) => toJson(ExportTraceServiceRequestSchema, fromBinary(ExportTraceServiceRequestSchema, bytes));

/** What the mesh's phases do with spans: attributes at start and later, kinds, remote and local parents, an error. */
function invocation(tracer: Tracer): void {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState("vendor=a"),
  });
  const root = tracer.startSpan("gateway.invoke", { kind: SpanKind.SERVER, startTime: [1_765_000_000, 123_456_789], attributes: { "faas.function": "thumbnail", "faas.async": false } }, remote);
  root.setAttributes({ "faas.tenant": "dev", "faas.batch.size": 3, "faas.ratio": 0.25, "faas.names": ["a", "b"], "faas.skipped": undefined });
  const child = tracer.startSpan("node-manager.acquire", { startTime: 1_765_000_000_200 }, trace.setSpan(ROOT_CONTEXT, root));
  child.setAttribute("faas.start_kind", "COLD");
  child.setStatus({ code: SpanStatusCode.ERROR, message: "no capacity" });
  const boom = new Error("boom");
  boom.stack = "Error: boom\n    at test";
  child.recordException(boom, [1_765_000_000, 300_000_000]);
  child.end(1_765_000_000_450.5);
  const ok = tracer.startSpan("function.execute", { kind: SpanKind.INTERNAL, startTime: [1_765_000_000, 500_000_000] }, trace.setSpan(ROOT_CONTEXT, root));
  ok.setStatus({ code: SpanStatusCode.OK });
  ok.setStatus({ code: SpanStatusCode.ERROR, message: "after OK: ignored" });
  ok.end([1_765_000_001, 0]);
  // An end before the start is the start.
  tracer.startSpan("backwards", { startTime: [1_765_000_001, 5] }, trace.setSpan(ROOT_CONTEXT, root)).end([1_765_000_001, 0]);
  root.end([1_765_000_002, 999_999_999]);
}

test("a lean span is exported as the SDK's span with the same calls is", (t) => {
  const sdk = sdkTracer();
  const lean = leanTracer();
  invocation(sdk.tracer);
  invocation(lean.tracer);
  const [theirs, ours] = [sdk.spans(), lean.spans()];
  t.is(ours.length, 4);
  t.true(ours.every((s) => s instanceof LeanSpan));
  const upstream = (spans: ReadableSpan[]) => decode(ProtobufTraceSerializer.serializeRequest(spans)!);
  t.deepEqual(upstream(ours), upstream(theirs));
  t.deepEqual(decode(encodeSpans(ours)), decode(encodeSpans(theirs)));
  const backwards = ours.find((s) => s.name === "backwards")!;
  t.deepEqual(backwards.endTime, backwards.startTime);
  t.deepEqual(backwards.duration, [0, 0]);
});

test("a span ended without a time lasts what the monotonic clock measured, from a wall-clock start", (t) => {
  const lean = leanTracer();
  const before = Date.now();
  const span = lean.tracer.startSpan("now", {}, ROOT_CONTEXT);
  const spin = performance.now();
  while (performance.now() - spin < 3);
  span.end();
  const [s] = lean.spans();
  const startMs = s.startTime[0] * 1e3 + s.startTime[1] / 1e6;
  const durationMs = s.duration[0] * 1e3 + s.duration[1] / 1e6;
  t.true(startMs >= before && startMs <= Date.now());
  t.true(durationMs >= 3 && durationMs < 1000, `${durationMs} ms`);
  t.false(span.isRecording());
});

test("sampling is the sampler's: unsampled spans are the API's non-recording spans with valid ids", (t) => {
  // Parent-based with a ratio of 0 for new traces: roots are not recorded, a sampled caller's children are.
  const lean = leanTracer(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }));
  const root = lean.tracer.startSpan("gateway.invoke", {}, ROOT_CONTEXT);
  t.false(root.isRecording());
  t.false(root instanceof LeanSpan);
  t.true(trace.isSpanContextValid(root.spanContext()));
  t.is(root.spanContext().traceFlags, TraceFlags.NONE);
  const sampledCaller: Context = trace.setSpanContext(ROOT_CONTEXT, { traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const child = lean.tracer.startSpan("balancer.route", {}, sampledCaller);
  t.true(child.isRecording());
  t.is(child.spanContext().traceId, "1".repeat(32));
  t.is(child.spanContext().traceFlags, TraceFlags.SAMPLED);
  child.end();
  root.end();
  t.deepEqual(lean.spans().map((s) => [s.name, s.parentSpanContext?.spanId]), [["balancer.route", "2".repeat(16)]]);
});

test("a span is handed to the processor once; calls after its end change nothing", (t) => {
  const lean = leanTracer();
  const calls: string[] = [];
  const counting = new LeanTracer({
    processor: { onStart: (s) => calls.push(`start ${(s as LeanSpan).name}`), onEnd: (s) => calls.push(`end ${s.name}`), forceFlush: async () => {}, shutdown: async () => {} },
    sampler: new AlwaysOnSampler(),
    resource,
    scope: { name: "faas-mesh" },
  });
  counting.startSpan("counted", {}, ROOT_CONTEXT).end();
  t.deepEqual(calls, ["start counted", "end counted"]);
  const span = lean.tracer.startSpan("once", { attributes: { a: 1 }, startTime: [1_764_999_999, 0] }, ROOT_CONTEXT);
  span.end([1_765_000_000, 0]);
  span.setAttribute("late", true);
  span.updateName("renamed");
  span.addEvent("late");
  span.end([1_765_000_009, 0]);
  const spans = lean.spans();
  t.is(spans.length, 1);
  t.deepEqual(spans[0].attributes, { a: 1 });
  t.is(spans[0].name, "once");
  t.deepEqual(spans[0].events, []);
  t.deepEqual(spans[0].endTime, [1_765_000_000, 0]);
});

test("startActiveSpan runs its function with the span and returns its result", (t) => {
  const lean = leanTracer();
  const result = lean.tracer.startActiveSpan("active", { kind: SpanKind.CLIENT }, ROOT_CONTEXT, (span) => {
    span.end();
    return 42;
  });
  t.is(result, 42);
  t.is(lean.spans()[0].kind, SpanKind.CLIENT);
});
