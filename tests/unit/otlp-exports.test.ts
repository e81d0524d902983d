// Both OTLP/HTTP encodings our processes can export (tracing.ts's otlpExporter) arrive intact at a
// real receiver: ids, parent, kind, times, attributes of every type, status, and the service name.
import test from "ava";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { otlpExporter } from "../../common/tracing.js";
import { OTLP_PROTOCOLS } from "../../common/tracing-config.js";
import { OtlpReceiver } from "../helpers/otlp-receiver.js";

for (const protocol of OTLP_PROTOCOLS) {
  test(`${protocol}: a parent and a child span reach the receiver as they were made`, async (t) => {
    const receiver = await OtlpReceiver.start();
    t.teardown(() => receiver.close());
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "faas-test" }),
      spanProcessors: [new SimpleSpanProcessor(otlpExporter(protocol, `${receiver.endpoint}/v1/traces`))],
    });
    const tracer = provider.getTracer("otlp-exports-test");
    const parent = tracer.startSpan("gateway.invoke", { kind: SpanKind.SERVER, attributes: { "faas.function": "thumbnail", "faas.batch.size": 3, "faas.ratio": 0.5, "faas.cold": true } });
    const child = tracer.startSpan("node-manager.acquire", { attributes: { "faas.start.kind": "COLD" } }, trace.setSpan(ROOT_CONTEXT, parent));
    child.setStatus({ code: SpanStatusCode.ERROR, message: "no capacity" });
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();

    const expected = protocol === "http/protobuf" ? "protobuf" : "json";
    t.deepEqual(receiver.rejected, []);
    t.true(receiver.encodings.length > 0 && receiver.encodings.every((e) => e === expected));
    const got = receiver.trace(parent.spanContext().traceId);
    t.is(got.length, 2);
    const p = got.find((s) => s.name === "gateway.invoke")!;
    const c = got.find((s) => s.name === "node-manager.acquire")!;
    t.is(p.service, "faas-test");
    t.is(p.spanId, parent.spanContext().spanId);
    t.is(p.parentSpanId, "");
    t.is(p.kind, SpanKind.SERVER + 1, "OTLP kinds are the API's plus one");
    t.deepEqual(p.attributes, { "faas.function": "thumbnail", "faas.batch.size": 3, "faas.ratio": 0.5, "faas.cold": true });
    t.true(p.endNs >= p.startNs && p.startNs > 1_600_000_000_000_000_000n, "times are Unix nanoseconds");
    t.is(c.parentSpanId, p.spanId);
    t.is(c.attributes["faas.start.kind"], "COLD");
    t.is(c.status, 2, "STATUS_CODE_ERROR");
  });
}
