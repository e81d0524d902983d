// W3C trace context and spans through the OpenTelemetry API only: what every process (the sidecar's
// bundle included) uses to continue a trace, open spans and stamp log lines. Without a registered SDK
// (tracing.ts) all of it is a no-op.
import {
  context,
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from "@opentelemetry/api";

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Context, type Span };

/** The instrumentation scope of the mesh's spans. */
export const TRACER_NAME = "faas-mesh";

/**
 * The tracer of the mesh's spans when startTracing installed one (lean-spans.ts). A global, as PROPAGATING
 * below: the sidecar's SDK bundle has its own copy of this module. Kept here, not in lean-spans.ts, so that
 * this module (in every process, the sidecar's main bundle included) does not load the SDK.
 */
const MESH_TRACER = Symbol.for("faas.trace-context.tracer");
const tracerSlot = globalThis as typeof globalThis & { [MESH_TRACER]?: Tracer };

export function installMeshTracer(t: Tracer | undefined): void {
  tracerSlot[MESH_TRACER] = t;
}

let cachedTracer: Tracer | undefined;
/** The process's tracer: the one startTracing installed, else the API's (the no-op one until the SDK is registered). */
export function tracer(): Tracer {
  return tracerSlot[MESH_TRACER] ?? (cachedTracer ??= trace.getTracer(TRACER_NAME));
}

/**
 * Whether trace context is read and written: set by startTracing once the SDK is registered. Off (tracing
 * disabled), every helper below is the no-op the OpenTelemetry API would be. A global rather than a
 * module variable, as the API keeps its own registrations: the sidecar's SDK is a bundle of its own
 * (sidecar/tracing.ts) with its own copy of this module.
 */
const PROPAGATING = Symbol.for("faas.trace-context.propagating");
const flags = globalThis as typeof globalThis & { [PROPAGATING]?: boolean };

/** Turns reading and writing of trace context on (tracing.ts, with the SDK registered). */
export function enablePropagation(on: boolean): void {
  flags[PROPAGATING] = on;
}

// W3C trace context, read and written here rather than through the API's registered propagator: every
// invocation crosses four hops, each reading one traceparent and writing one or two, sampled or not, and
// the propagator's carrier objects, getter calls and regular expression took about twice as long (a read
// and a write: 0.6–1.0 µs here against 0.9–2.6 µs). Same grammar, checked against the propagator by
// tests/unit/tracing.test.ts: version 00 is exactly 55 characters; a later version may append fields
// after a dash; version ff is invalid.
const TRACEPARENT_LENGTH = 55;

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isAllZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

/** The remote span context of a W3C traceparent; undefined when it is malformed. */
export function parseTraceparent(traceparent: string): SpanContext | undefined {
  const tp = traceparent.trim();
  if (tp.length < TRACEPARENT_LENGTH || tp.charCodeAt(2) !== 45 || tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45) return undefined;
  if (!isLowerHex(tp, 0, 2) || tp.startsWith("ff") || (tp.startsWith("00") && tp.length !== TRACEPARENT_LENGTH)) return undefined;
  if (tp.length > TRACEPARENT_LENGTH && tp.charCodeAt(TRACEPARENT_LENGTH) !== 45) return undefined;
  if (!isLowerHex(tp, 3, 35) || !isLowerHex(tp, 36, 52) || !isLowerHex(tp, 53, 55)) return undefined;
  if (isAllZero(tp, 3, 35) || isAllZero(tp, 36, 52)) return undefined;
  return { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), traceFlags: parseInt(tp.slice(53, 55), 16), isRemote: true };
}

/** The W3C traceparent of a valid span context. */
export function formatTraceparent(c: SpanContext): string {
  const flags = c.traceFlags & 0xff;
  return `00-${c.traceId}-${c.spanId}-${flags < 16 ? "0" : ""}${flags.toString(16)}`;
}

/**
 * The context a W3C traceparent continues, only when it asks for its trace to be recorded (the sampled
 * flag) and tracing is on; undefined otherwise, absent and malformed included. A hop that would only stand
 * in for its caller's unsampled span skips its tracing outright, and one that traces reads the traceparent
 * once.
 */
export function sampledContextFromTraceparent(traceparent: string): Context | undefined {
  if (!flags[PROPAGATING] || !traceparent) return undefined;
  const parent = parseTraceparent(traceparent);
  return parent && (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? trace.setSpanContext(ROOT_CONTEXT, parent) : undefined;
}

/** The context a W3C traceparent continues; the root context when it is absent or malformed. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!flags[PROPAGATING] || !traceparent) return ROOT_CONTEXT;
  const parent = parseTraceparent(traceparent);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

/** The context the traceparent/tracestate headers of a gRPC or Connect request continue. */
export function contextFromHeaders(headers: Headers): Context {
  if (!flags[PROPAGATING]) return ROOT_CONTEXT;
  const traceparent = headers.get("traceparent");
  if (!traceparent) return ROOT_CONTEXT;
  // Several traceparent headers arrive joined by commas: invalid, as the W3C propagator treats them.
  const parent = parseTraceparent(traceparent);
  if (!parent) return ROOT_CONTEXT;
  const tracestate = headers.get("tracestate");
  return trace.setSpanContext(ROOT_CONTEXT, tracestate ? { ...parent, traceState: createTraceState(tracestate) } : parent);
}

/** The W3C traceparent of a context ("" when it holds no valid span, or tracing is off). */
export function traceparentOf(ctx: Context): string {
  if (!flags[PROPAGATING]) return "";
  const c = trace.getSpan(ctx)?.spanContext();
  return c && trace.isSpanContextValid(c) ? formatTraceparent(c) : "";
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
