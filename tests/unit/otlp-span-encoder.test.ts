// Our one-pass OTLP protobuf encoder writes the same ExportTraceServiceRequest as upstream's transformer
// and serializer: both decoded with the OTLP schema and compared, over spans with every attribute type,
// events, links, trace state, remote and local parents, error status, and two resources and scopes.
import test from "ava";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { encodeSpans, SpanRequestBuilder } from "../../common/otlp-span-encoder.js";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/trace/v1/otlp_traces_pb.js";

function spansOf(service: string, make: (tracer: ReturnType<BasicTracerProvider["getTracer"]>, other: ReturnType<BasicTracerProvider["getTracer"]>) => void): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service, "service.namespace": "faas", "host.cpus": 2 }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  make(provider.getTracer("faas-mesh"), provider.getTracer("other-scope", "1.2.3"));
  return memory.getFinishedSpans();
}

const decode = (bytes: Uint8Array) => toJson(ExportTraceServiceRequestSchema, fromBinary(ExportTraceServiceRequestSchema, bytes));

function sameAsUpstream(t: import("ava").ExecutionContext, spans: ReadableSpan[]): void {
  const ours = encodeSpans(spans);
  const theirs = ProtobufTraceSerializer.serializeRequest(spans)!;
  t.deepEqual(decode(ours), decode(theirs));
}

test("spans of every shape encode as upstream encodes them", (t) => {
  const spans = spansOf("faas-gateway", (tracer, other) => {
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState("vendor=a,other=b"),
    });
    const root = tracer.startSpan("gateway.invoke", { kind: SpanKind.SERVER, startTime: [1_765_000_000, 123_456_789], attributes: {
      "faas.function": "thumbnail",
      "faas.empty": "",
      "faas.unicode": "grüße, 関数 ✓",
      "faas.batch.size": 3,
      "faas.big": 2 ** 40 + 7,
      "faas.negative": -5,
      "faas.ratio": 0.25,
      "faas.cold": true,
      "faas.warm": false,
      "faas.names": ["a", "b"],
      "faas.sizes": [1, 2, 300],
      "faas.long": "x".repeat(300),
    } }, remote);
    root.addEvent("queued", { depth: 4 }, [1_765_000_000, 500_000_000]);
    root.addEvent("bare");
    root.addLink({ context: { traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: TraceFlags.NONE, isRemote: false }, attributes: { why: "batch" } });
    const child = tracer.startSpan("node-manager.acquire", { attributes: { "faas.start_kind": "COLD" } }, trace.setSpan(ROOT_CONTEXT, root));
    child.setStatus({ code: SpanStatusCode.ERROR, message: "no capacity" });
    child.recordException(new Error("boom"));
    child.end();
    const ok = other.startSpan("function.execute", { kind: SpanKind.INTERNAL });
    ok.setStatus({ code: SpanStatusCode.OK });
    ok.end([1_765_000_001, 0]);
    root.end([1_765_000_002, 999_999_999]);
    for (let i = 0; i < 5; i++) tracer.startSpan(`many.${i}`, { kind: SpanKind.CLIENT }).end();
  });
  t.is(spans.length, 8);
  sameAsUpstream(t, spans);
  // Two processes' spans in one request: two resources.
  const more = spansOf("faas-balancer", (tracer) => tracer.startSpan("balancer.route", { kind: SpanKind.CLIENT }).end());
  sameAsUpstream(t, [...spans, ...more]);
});

test("times are exact nanoseconds, ids raw bytes, and an empty request is empty", (t) => {
  const spans = spansOf("faas-sidecar", (tracer) => {
    // Seconds near 2^32 and nanoseconds near 1e9: the fixed64 must not lose a digit.
    tracer.startSpan("edge", { startTime: [4_294_967_295, 999_999_999] }).end([4_294_967_296, 1]);
    tracer.startSpan("now").end();
  });
  const req = fromBinary(ExportTraceServiceRequestSchema, encodeSpans(spans));
  const [edge, now] = req.resourceSpans[0].scopeSpans[0].spans;
  t.is(edge.startTimeUnixNano, 4_294_967_295n * 1_000_000_000n + 999_999_999n);
  t.is(edge.endTimeUnixNano, 4_294_967_296n * 1_000_000_000n + 1n);
  const [s, ns] = spans[1].startTime;
  t.is(now.startTimeUnixNano, BigInt(s) * 1_000_000_000n + BigInt(ns));
  t.is(Buffer.from(now.traceId).toString("hex"), spans[1].spanContext().traceId);
  t.is(Buffer.from(now.spanId).toString("hex"), spans[1].spanContext().spanId);
  t.is(encodeSpans([]).length, 0);
  sameAsUpstream(t, spans);
});

test("a large batch (a full BatchSpanProcessor export) encodes as upstream's", (t) => {
  const spans = spansOf("faas-node-manager", (tracer) => {
    for (let i = 0; i < 512; i++) {
      const s = tracer.startSpan("node-manager.invoke", { kind: SpanKind.SERVER, attributes: { "faas.function": `f-${i % 7}`, "faas.invocation_id": `inv-${i}`, "faas.node": "node-1" } });
      s.end();
    }
  });
  sameAsUpstream(t, spans);
});

test("a builder used batch after batch (its buffers kept) writes each batch as upstream's, and forgets the last", (t) => {
  const gateway = spansOf("faas-gateway", (tracer, other) => {
    for (let i = 0; i < 40; i++) tracer.startSpan(`gateway.invoke.${i}`, { attributes: { "faas.function": "f".repeat(i * 10) } }).end();
    other.startSpan("other").end();
  });
  const balancer = spansOf("faas-balancer", (tracer) => tracer.startSpan("balancer.route").end());
  const builder = new SpanRequestBuilder();
  // Mixed resources and scopes; a second batch without the first's other scope and resource.
  const batches = [[...gateway.slice(0, 10), balancer[0], gateway[40]], gateway.slice(10, 40), [gateway[40]], balancer];
  for (const batch of batches) {
    for (const sp of batch) builder.add(sp);
    t.is(builder.count, batch.length);
    const bytes = builder.take();
    t.is(builder.count, 0);
    t.deepEqual(decode(bytes), decode(ProtobufTraceSerializer.serializeRequest(batch)!));
  }
  t.is(builder.take().length, 0);
});
