// Tracing's pure parts: the OTEL_* configuration, the sampler it describes, the synchronous context
// manager, and the hops of an unsampled trace costing no span.
import test from "ava";
import { context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { ConfigError } from "../../common/config.js";
import { SyncContextManager } from "../../common/sync-context-manager.js";
import { enablePropagation, formatTraceparent, parseTraceparent, recordSpan, sampledContextFromTraceparent, startSpan } from "../../common/trace-context.js";
import { loadTracingConfig, samplerPlan, tracesProtocol, tracesUrl } from "../../common/tracing-config.js";

test("defaults: parent-based 10% sampling, nothing exported without an endpoint", (t) => {
  const cfg = loadTracingConfig({});
  t.is(cfg.sampler, "parentbased_traceidratio");
  t.is(cfg.samplerArg, 0.1);
  t.deepEqual(samplerPlan(cfg), { root: { ratio: 0.1 }, parentBased: true });
  t.is(tracesUrl(cfg), undefined);
});

test("the traces URL: the base endpoint plus /v1/traces, the traces endpoint as given, none when disabled", (t) => {
  t.is(tracesUrl(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318/" })), "http://jaeger:4318/v1/traces");
  t.is(tracesUrl(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/traces" })), "http://b:9999/traces");
  t.is(tracesUrl(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_SDK_DISABLED: "true" })), undefined);
});

test("the export encoding: protobuf by default, the traces variable overrides the general one, anything else stops the start", (t) => {
  t.is(tracesProtocol(loadTracingConfig({})), "http/protobuf");
  t.is(tracesProtocol(loadTracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })), "http/json");
  t.is(tracesProtocol(loadTracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" })), "http/protobuf");
  const e1 = t.throws(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }), { instanceOf: ConfigError });
  t.regex(e1.problems[0], /^OTEL_EXPORTER_OTLP_PROTOCOL must be one of/);
  const e2 = t.throws(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "json" }), { instanceOf: ConfigError });
  t.regex(e2.problems[0], /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of/);
});

test("every standard sampler name maps to its plan", (t) => {
  const plan = (sampler: string, arg?: string) => samplerPlan(loadTracingConfig({ OTEL_TRACES_SAMPLER: sampler, ...(arg ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}) }));
  t.deepEqual(plan("always_on"), { root: "on", parentBased: false });
  t.deepEqual(plan("always_off"), { root: "off", parentBased: false });
  t.deepEqual(plan("traceidratio", "0.25"), { root: { ratio: 0.25 }, parentBased: false });
  t.deepEqual(plan("parentbased_always_on"), { root: "on", parentBased: true });
  t.deepEqual(plan("parentbased_always_off"), { root: "off", parentBased: true });
});

test("a bad sampler or ratio stops the start with the variable named", (t) => {
  const e1 = t.throws(() => loadTracingConfig({ OTEL_TRACES_SAMPLER: "sometimes" }), { instanceOf: ConfigError });
  t.regex(e1.problems[0], /^OTEL_TRACES_SAMPLER must be one of/);
  const e2 = t.throws(() => loadTracingConfig({ OTEL_TRACES_SAMPLER_ARG: "1.5" }), { instanceOf: ConfigError });
  t.regex(e2.problems[0], /^OTEL_TRACES_SAMPLER_ARG must be in \[0, 1\]/);
});

test("the sync context manager: active inside with(), restored after, also when fn throws", (t) => {
  const m = new SyncContextManager();
  const key = Symbol("k");
  const a = ROOT_CONTEXT.setValue(key, "a");
  const b = ROOT_CONTEXT.setValue(key, "b");
  t.is(m.active(), ROOT_CONTEXT);
  m.with(a, () => {
    t.is(m.active().getValue(key), "a");
    m.with(b, () => t.is(m.active().getValue(key), "b"));
    t.is(m.active().getValue(key), "a");
  });
  t.throws(() => m.with(b, () => { throw new Error("x"); }));
  t.is(m.active(), ROOT_CONTEXT);
  const bound = m.bind(a, () => m.active().getValue(key));
  t.is(bound(), "a");
});

test("children of an unsampled span are that span: no span made, the same traceparent goes on", (t) => {
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.NONE });
  const child = startSpan("node-manager.invoke", unsampled);
  t.is(child.ctx, unsampled);
  t.is(child.span.spanContext().spanId, "b7ad6b7169203331");
  t.is(recordSpan("balancer.queue", unsampled, 0, 1), unsampled);
  // Without the SDK the API is a no-op: a sampled parent gets a non-recording child, and nothing breaks.
  const sampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED });
  t.false(startSpan("x", sampled).span.isRecording());
  t.is(context.active(), ROOT_CONTEXT);
});

test("traceparent is read and written as the W3C propagator does, valid and malformed alike", (t) => {
  const w3c = new W3CTraceContextPropagator();
  const viaPropagator = (tp: string) => {
    const c = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, { traceparent: tp }, defaultTextMapGetter));
    return c ? { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags, isRemote: c.isRemote } : undefined;
  };
  const id = "0af7651916cd43dd8448eb211c80319c";
  const span = "b7ad6b7169203331";
  const cases = [
    `00-${id}-${span}-01`,
    `00-${id}-${span}-00`,
    `00-${id}-${span}-09`,
    ` 00-${id}-${span}-01 `,
    `01-${id}-${span}-01-what-the-future-holds`,
    `01-${id}-${span}-01`,
    `00-${id}-${span}-01-extra`, // version 00 is exactly 55 characters
    `ff-${id}-${span}-01`,
    `00-${"0".repeat(32)}-${span}-01`,
    `00-${id}-${"0".repeat(16)}-01`,
    `00-${id.toUpperCase()}-${span}-01`,
    `00-${id}-${span}-0g`,
    `00-${id}-${span}01`,
    `00-${id.slice(1)}-${span}-01x`,
    `00_${id}-${span}-01`,
    `0-${id}-${span}-01`,
    "",
    "garbage",
  ];
  for (const tp of cases) t.deepEqual(parseTraceparent(tp), viaPropagator(tp), tp);
  for (const flags of [TraceFlags.NONE, TraceFlags.SAMPLED]) {
    const c = { traceId: id, spanId: span, traceFlags: flags };
    const carrier: Record<string, string> = {};
    w3c.inject(trace.setSpanContext(ROOT_CONTEXT, c), carrier, defaultTextMapSetter);
    t.is(formatTraceparent(c), carrier.traceparent);
  }
});

test("a sampled traceparent gives the context it continues; an unsampled or malformed one, or tracing off, none", (t) => {
  const id = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331";
  const isSampled = (tp: string) => sampledContextFromTraceparent(tp) !== undefined;
  enablePropagation(true);
  try {
    t.true(isSampled(`00-${id}-01`));
    t.true(isSampled(`01-${id}-03-more`));
    t.false(isSampled(`00-${id}-00`));
    t.false(isSampled(`00-${id}-02`));
    t.false(isSampled(`00-${id}-zz`));
    t.false(isSampled(""));
    t.false(isSampled("00-short-01"));
    t.deepEqual(trace.getSpanContext(sampledContextFromTraceparent(`00-${id}-01`)!), parseTraceparent(`00-${id}-01`));
  } finally {
    enablePropagation(false);
  }
  t.false(isSampled(`00-${id}-01`), "tracing off: nothing to continue");
});
