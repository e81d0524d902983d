// The spans of the mesh's own phases, recorded as plain objects that are both the API's Span and the
// SDK's ReadableSpan, handed to the SDK's span processor (batching, export, flush and shutdown stay the
// SDK's) with the SDK's sampler, resource and id generator. What is left out is the SDK's per-span
// machinery: span limits, attribute sanitising and truncation, self-metrics, a diag call per span and
// the hrtime conversions at every start and end. At 100% sampling that machinery was the largest part of
// what a recorded span cost a service (README, "What tracing costs"), and our spans need none of it:
// they have a handful of attributes whose keys and types are ours. Code that calls the OpenTelemetry API
// itself still gets the SDK's tracer (tracing.ts registers the provider); trace-context.ts opens the
// mesh's spans with a LeanTracer when startTracing installed one.
import { context, diag, INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type AttributeValue, type Context, type Exception, type HrTime, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer } from "@opentelemetry/api";
import { hrTimeDuration, hrTimeToMilliseconds, isTracingSuppressed, millisToHrTime, type InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import { RandomIdGenerator, SamplingDecision, type IdGenerator, type ReadableSpan, type Sampler, type SpanProcessor, type TimedEvent } from "@opentelemetry/sdk-trace-base";

/** What a LeanTracer's spans share: where they go, who decides, what they are from. */
export interface LeanTracerOptions {
  readonly processor: SpanProcessor;
  readonly sampler: Sampler;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** Default: the SDK's random ids. */
  readonly idGenerator?: IdGenerator;
}

// Shared by every span that has none; a span gets its own array on its first event (links are only set
// at start and never added to by our code, but addLink copies too).
const NO_EVENTS: TimedEvent[] = [];
const NO_LINKS: Link[] = [];
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

/** Epoch milliseconds (fractional) of a number or Date TimeInput, read as the SDK reads them. */
function epochMs(t: number | Date): number {
  if (typeof t === "number") return t <= performance.now() ? performance.timeOrigin + t : t; // a performance.now() reading, or epoch ms
  return t.getTime();
}

/** A TimeInput as [seconds, nanoseconds]: one given as such is kept to the nanosecond. */
function hrOf(t: TimeInput): HrTime {
  return Array.isArray(t) ? [t[0], t[1]] : millisToHrTime(epochMs(t as number | Date));
}

function isAttributeValue(v: unknown): v is AttributeValue {
  return v !== undefined && v !== null;
}

export class LeanSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: Attributes = {};
  links: Link[] = NO_LINKS;
  events: TimedEvent[] = NO_EVENTS;
  status: SpanStatus = UNSET;
  startTime: HrTime;
  endTime: HrTime = [0, 0];
  duration: HrTime = [0, 0];
  ended = false;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly #context: SpanContext;
  readonly #processor: SpanProcessor;
  /** The start on the wall clock, and on the monotonic clock: an end without a time adds the latter's duration. */
  readonly #startMs: number;
  readonly #startPerf: number;

  constructor(tracer: LeanTracer, context: SpanContext, name: string, options: SpanOptions, parent: SpanContext | undefined) {
    this.#context = context;
    this.name = name;
    this.kind = options.kind ?? SpanKind.INTERNAL;
    this.parentSpanContext = parent;
    this.resource = tracer.resource;
    this.instrumentationScope = tracer.scope;
    this.#processor = tracer.processor;
    this.#startPerf = performance.now();
    this.startTime = options.startTime === undefined ? millisToHrTime(Date.now()) : hrOf(options.startTime);
    this.#startMs = hrTimeToMilliseconds(this.startTime);
    if (options.attributes) this.setAttributes(options.attributes);
    if (options.links?.length) this.links = options.links.map((l) => ({ context: l.context, ...(l.attributes && { attributes: { ...l.attributes } }) }));
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (!this.ended && key && isAttributeValue(value)) this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const isTime = typeof attributesOrTime === "number" || attributesOrTime instanceof Date || Array.isArray(attributesOrTime);
    const attributes = isTime ? undefined : (attributesOrTime as Attributes | undefined);
    const at = isTime ? (attributesOrTime as TimeInput) : time;
    if (this.events === NO_EVENTS) this.events = [];
    this.events.push({ name, attributes: attributes ? { ...attributes } : {}, time: at === undefined ? millisToHrTime(this.#nowMs()) : hrOf(at), droppedAttributesCount: 0 });
    return this;
  }

  addLink(link: Link): this {
    if (this.links === NO_LINKS) this.links = [];
    this.links.push({ context: link.context, ...(link.attributes && { attributes: { ...link.attributes } }) });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const l of links) this.addLink(l);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.ended || this.status.code === SpanStatusCode.OK) return this; // OK is final, as the SDK has it
    // The API: a description only goes with ERROR.
    this.status = status.code === SpanStatusCode.ERROR ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  /** The exception as an event with the semantic conventions' attributes, as the SDK records it. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else if (exception) {
      if (exception.code) attributes["exception.type"] = exception.code.toString();
      else if (exception.name) attributes["exception.type"] = exception.name;
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    if (attributes["exception.type"] || attributes["exception.message"]) this.addEvent("exception", attributes, time);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return diag.error(`span ${this.name} ended twice`);
    this.ended = true;
    this.endTime = endTime === undefined ? millisToHrTime(this.#nowMs()) : hrOf(endTime);
    this.duration = hrTimeDuration(this.startTime, this.endTime);
    if (this.duration[0] < 0) {
      // The SDK's rule: an end before the start is the start.
      this.endTime = [this.startTime[0], this.startTime[1]];
      this.duration = [0, 0];
    }
    this.#processor.onEnd(this);
  }

  /** Now, on the wall clock this span started by, plus the monotonic time since. */
  #nowMs(): number {
    return this.#startMs + (performance.now() - this.#startPerf);
  }
}

/** A Tracer whose recorded spans are LeanSpans; unrecorded ones are the API's non-recording spans. */
export class LeanTracer implements Tracer {
  readonly processor: SpanProcessor;
  readonly sampler: Sampler;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly #ids: IdGenerator;

  constructor(o: LeanTracerOptions) {
    this.processor = o.processor;
    this.sampler = o.sampler;
    this.resource = o.resource;
    this.scope = o.scope;
    this.#ids = o.idGenerator ?? new RandomIdGenerator();
  }

  startSpan(name: string, options: SpanOptions = {}, ctx?: Context): Span {
    let parentCtx = ctx ?? context.active();
    if (options.root) parentCtx = trace.deleteSpan(parentCtx);
    if (isTracingSuppressed(parentCtx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parentSc = trace.getSpanContext(parentCtx);
    const parent = parentSc && trace.isSpanContextValid(parentSc) ? parentSc : undefined;
    const traceId = parent ? parent.traceId : this.#ids.generateTraceId();
    const spanId = this.#ids.generateSpanId();
    const kind = options.kind ?? SpanKind.INTERNAL;
    const sampled = this.sampler.shouldSample(parentCtx, traceId, name, kind, options.attributes ?? {}, options.links ?? NO_LINKS);
    const traceState = sampled.traceState ?? parent?.traceState;
    const recorded = sampled.decision === SamplingDecision.RECORD_AND_SAMPLED;
    const traceFlags = recorded ? TraceFlags.SAMPLED : TraceFlags.NONE;
    const spanContext: SpanContext = traceState ? { traceId, spanId, traceFlags, traceState } : { traceId, spanId, traceFlags };
    // RECORD without SAMPLED would be recorded and never exported: our samplers never answer it.
    if (!recorded) return trace.wrapSpanContext(spanContext);
    const span = new LeanSpan(this, spanContext, name, options, parent);
    if (sampled.attributes) span.setAttributes(sampled.attributes);
    // The processor's contract, as the SDK keeps it (the BatchSpanProcessor's onStart does nothing).
    this.processor.onStart(span, parentCtx);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : {};
    const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), () => fn(span)) as ReturnType<F>;
  }
}
