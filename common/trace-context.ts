// W3C trace context and spans through the OpenTelemetry API only: what every process (the sidecar's
// bundle included) uses to continue a trace, open spans and stamp log lines. Without a registered SDK
// (tracing.ts) all of it is a no-op.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Context, type Span };

let cachedTracer: Tracer | undefined;
/** The process's tracer (the no-op one until startTracing registers the SDK). */
export function tracer(): Tracer {
  return (cachedTracer ??= trace.getTracer("faas-mesh"));
}

const headersGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/** The context a W3C traceparent continues; the root context when it is absent or malformed. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The context the traceparent/tracestate headers of a gRPC or Connect request continue. */
export function contextFromHeaders(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headersGetter);
}

/** The W3C traceparent of a context ("" when it holds no valid span, or tracing is off). */
export function traceparentOf(ctx: Context): string {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ?? "";
}

/**
 * The parent's span when it belongs to a trace that is not sampled: its children are not recorded
 * either, and standing in for them with it costs nothing. An invocation's hops follow the decision made
 * where its trace began (a partial trace is of no use); this is what keeps the 90% of invocations that
 * the default sampler leaves out nearly free (bench/tracing.ts).
 */
function unsampledParent(parent: Context): Span | undefined {
  const span = trace.getSpan(parent);
  if (!span) return undefined;
  const c = span.spanContext();
  return (c.traceFlags & TraceFlags.SAMPLED) === 0 && trace.isSpanContextValid(c) ? span : undefined;
}

/** Starts a span as a child of parent; returns it and the context it is active in. */
export function startSpan(name: string, parent: Context, options: SpanOptions = {}): { span: Span; ctx: Context } {
  const unsampled = unsampledParent(parent);
  if (unsampled) return { span: unsampled, ctx: parent };
  const span = tracer().startSpan(name, options, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs f inside a new span (active, so logs and nested spans see it) and ends the span with f's outcome. */
export async function inSpan<T>(name: string, parent: Context, options: SpanOptions, f: (span: Span, ctx: Context) => Promise<T>): Promise<T> {
  const { span, ctx } = startSpan(name, parent, options);
  try {
    return await context.with(ctx, () => f(span, ctx));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Records a span for a phase already measured, ended at once; returns its context for children. */
export function recordSpan(name: string, parent: Context, startMs: number, endMs: number, attributes?: Attributes): Context {
  if (unsampledParent(parent)) return parent;
  const span = tracer().startSpan(name, { startTime: startMs, attributes }, parent);
  span.end(Math.max(startMs, endMs));
  return trace.setSpan(parent, span);
}

export function failSpan(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (err instanceof Error) span.recordException(err);
}

/** inSpan for synchronous work. */
export function inSpanSync<T>(name: string, parent: Context, options: SpanOptions, f: () => T): T {
  const { span, ctx } = startSpan(name, parent, options);
  try {
    return context.with(ctx, f);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Runs f with ctx active (log lines written in it carry its ids). */
export function withContext<T>(ctx: Context, f: () => T): T {
  return context.with(ctx, f);
}

/**
 * Wall-clock milliseconds for span times: Date.now(), the host clock every process reads alike, as the
 * SDK anchors its own span times. performance.timeOrigin + performance.now() would add sub-millisecond
 * digits but runs on each process's monotonic clock from its start, which drifts from the wall clock by
 * milliseconds (NTP slewing), so a balancer's queue span could start before the gateway span holding it.
 */
export function nowMs(): number {
  return Date.now();
}

/** The traceparent of the active context when its span is sampled; "" otherwise (nothing to propagate to a trace no one records). */
export function sampledTraceparent(): string {
  const active = context.active();
  return trace.getSpan(active)?.isRecording() ? traceparentOf(active) : "";
}

/** The span's trace id; "" for the invalid span of a process that does not trace. */
export function traceIdOf(span: Span): string {
  const c = span.spanContext();
  return trace.isSpanContextValid(c) ? c.traceId : "";
}

/** The active span's ids, for log lines; empty outside any span. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const c = span.spanContext();
  return trace.isSpanContextValid(c) ? { trace_id: c.traceId, span_id: c.spanId } : {};
}
