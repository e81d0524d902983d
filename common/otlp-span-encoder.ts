// Finished SDK spans straight to the bytes of an OTLP ExportTraceServiceRequest (protobuf), in one pass
// over one buffer. The upstream exporter first builds an object tree per span (otlp-transformer), then
// protobufjs walks it again: at 100% sampling that was 14–25 µs per invocation per service, as much as the
// SDK's own span life cycle (README, "Tracing cost"). Same message, field for field, as the upstream
// transformer writes (tests/unit/otlp-span-encoder.test.ts decodes both and compares).
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from "@opentelemetry/api";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

// Span flags (OTLP trace.proto): the low 8 bits are the W3C trace flags.
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

const TWO_32 = 0x1_0000_0000;

/** Hex digits' values by char code (ids are lower-case hex; upper case is read too): a lookup is a third of the arithmetic's time. */
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

/** A growable byte buffer with the few protobuf writes spans need. */
class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  uint32(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, VARINT);
    this.varint(v >>> 0);
  }

  /** int64 as a varint: negatives take ten bytes (two's complement). */
  int64(field: number, v: number): void {
    this.tag(field, VARINT);
    if (v >= 0) return this.varint(v);
    let n = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }

  fixed32(field: number, v: number): void {
    this.tag(field, FIXED32);
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A time as fixed64 nanoseconds since the epoch, exact (seconds · 1e9 exceeds 2^53). */
  hrTime(field: number, [seconds, nanos]: HrTime): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    // seconds = hi·2^16 + lo; each partial product is exact in a double.
    const hi = Math.floor(seconds / 0x10000);
    const lo = seconds - hi * 0x10000;
    const a = lo * 1e9 + nanos; // < 2^53
    const b = hi * 1e9; // the part to shift left by 16
    let low = (a % TWO_32) + (b % 0x10000) * 0x10000;
    let high = Math.floor(a / TWO_32) + Math.floor(b / 0x10000);
    if (low >= TWO_32) {
      low -= TWO_32;
      high += 1;
    }
    this.buf.writeUInt32LE(low, this.pos);
    this.buf.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(field: number, v: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(field: number, s: string | undefined): void {
    if (!s) return;
    this.tag(field, LEN);
    this.stringBody(s);
  }

  /**
   * A string's length and UTF-8 bytes. Span names, attribute keys and most values are short ASCII: those
   * are copied a char at a time, which is several times faster than a call into Buffer.write.
   */
  stringBody(s: string): void {
    const n = s.length;
    if (n < 0x80) {
      this.ensure(1 + n);
      const b = this.buf;
      const at = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      if (i === n) {
        b[at] = n;
        this.pos = at + 1 + n;
        return;
      }
    }
    const start = this.begin(n * 3);
    this.pos += this.buf.write(s, this.pos, "utf8");
    this.end(start);
  }

  /** A trace or span id, hex in the API, raw bytes on the wire. */
  hexBytes(field: number, hex: string | undefined): void {
    if (!hex) return;
    this.tag(field, LEN);
    const n = hex.length >> 1;
    this.ensure(1 + n);
    const b = this.buf;
    b[this.pos++] = n;
    for (let i = 0, j = 0; i < n; i++, j += 2) b[this.pos++] = (HEX_VALUE[hex.charCodeAt(j) & 0x7f] << 4) | HEX_VALUE[hex.charCodeAt(j + 1) & 0x7f];
  }

  bytes(field: number, v: Uint8Array): void {
    this.tag(field, LEN);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /**
   * Opens a length-delimited body after its tag: one byte is held for the length, which end() writes;
   * a body of 128 bytes or more is moved up by the length's extra bytes (spans are a few hundred bytes,
   * so that is one short copy per span and per enclosing message).
   */
  begin(room = 0): number {
    this.ensure(1 + room);
    return this.pos++;
  }

  end(start: number): void {
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    let extra = 0;
    for (let v = len >> 7; v > 0; v >>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    let v = len;
    let p = start;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  /** Bytes already encoded, as they are. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  bytesWritten(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

// AnyValue fields.
const STRING_VALUE = 1;
const BOOL_VALUE = 2;
const INT_VALUE = 3;
const DOUBLE_VALUE = 4;
const ARRAY_VALUE = 5;
const KVLIST_VALUE = 6;
const BYTES_VALUE = 7;

/** The body of an AnyValue; nothing for null and undefined (an empty AnyValue, as upstream writes). */
function anyValue(w: ProtoWriter, v: unknown): void {
  switch (typeof v) {
    case "string":
      // An empty string is still a string value: the oneof case is what tells the type.
      w.tag(STRING_VALUE, LEN);
      w.stringBody(v);
      return;
    case "number":
      if (Number.isInteger(v)) w.int64(INT_VALUE, v);
      else w.double(DOUBLE_VALUE, v);
      return;
    case "boolean":
      w.tag(BOOL_VALUE, VARINT);
      w.varint(v ? 1 : 0);
      return;
    case "object":
      if (v === null) return;
      if (v instanceof Uint8Array) return w.bytes(BYTES_VALUE, v);
      if (Array.isArray(v)) {
        w.tag(ARRAY_VALUE, LEN);
        const arr = w.begin();
        for (const item of v) {
          w.tag(1, LEN);
          const s = w.begin();
          anyValue(w, item);
          w.end(s);
        }
        w.end(arr);
        return;
      }
      w.tag(KVLIST_VALUE, LEN);
      {
        const list = w.begin();
        keyValues(w, 1, v as Record<string, unknown>);
        w.end(list);
      }
      return;
    default:
      return;
  }
}

/** Repeated KeyValue under `field`, in the attributes' key order. */
function keyValues(w: ProtoWriter, field: number, attributes: Attributes | Record<string, unknown>): void {
  for (const key in attributes) {
    const value = (attributes as Record<string, AttributeValue | undefined>)[key];
    w.tag(field, LEN);
    const kv = w.begin();
    w.string(1, key);
    w.tag(2, LEN);
    const any = w.begin();
    anyValue(w, value);
    w.end(any);
    w.end(kv);
  }
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

function event(w: ProtoWriter, e: TimedEvent): void {
  w.tag(11, LEN);
  const s = w.begin();
  w.hrTime(1, e.time);
  w.string(2, e.name);
  if (e.attributes) keyValues(w, 3, e.attributes);
  w.uint32(4, e.droppedAttributesCount ?? 0);
  w.end(s);
}

function link(w: ProtoWriter, l: Link): void {
  w.tag(13, LEN);
  const s = w.begin();
  w.hexBytes(1, l.context.traceId);
  w.hexBytes(2, l.context.spanId);
  w.string(3, l.context.traceState?.serialize());
  if (l.attributes) keyValues(w, 4, l.attributes);
  w.uint32(5, l.droppedAttributesCount ?? 0);
  w.fixed32(6, spanFlags(l.context.traceFlags, l.context.isRemote));
  w.end(s);
}

function span(w: ProtoWriter, sp: ReadableSpan): void {
  const ctx: SpanContext = sp.spanContext();
  const parent = sp.parentSpanContext;
  w.tag(2, LEN);
  const s = w.begin();
  w.hexBytes(1, ctx.traceId);
  w.hexBytes(2, ctx.spanId);
  w.string(3, ctx.traceState?.serialize());
  w.hexBytes(4, parent?.spanId);
  w.string(5, sp.name);
  w.uint32(6, sp.kind == null ? 0 : sp.kind + 1);
  w.hrTime(7, sp.startTime);
  w.hrTime(8, sp.endTime);
  keyValues(w, 9, sp.attributes);
  w.uint32(10, sp.droppedAttributesCount);
  for (const e of sp.events) event(w, e);
  w.uint32(12, sp.droppedEventsCount);
  for (const l of sp.links) link(w, l);
  w.uint32(14, sp.droppedLinksCount);
  // Status, always present as upstream writes it (empty when unset).
  w.tag(15, LEN);
  const st = w.begin();
  w.string(2, sp.status.message);
  w.uint32(3, sp.status.code);
  w.end(st);
  w.fixed32(16, spanFlags(ctx.traceFlags, parent?.isRemote));
  w.end(s);
}

/** One resource's spans of one instrumentation scope, encoded as ScopeSpans.spans entries. */
interface ScopeGroup {
  readonly scope: ReadableSpan["instrumentationScope"];
  readonly spans: ProtoWriter;
  count: number;
}

/**
 * An ExportTraceServiceRequest built a span at a time: each span is encoded when it is added and not
 * kept, so a batch waiting for its export is bytes, not span objects (encoding-span-processor.ts says
 * why that matters). Spans are grouped as OTLP nests them: by resource (object identity), then by
 * instrumentation scope, in the order each was first seen.
 */
export class SpanRequestBuilder {
  readonly #byResource = new Map<ReadableSpan["resource"], Map<string, ScopeGroup>>();
  /** Each scope object's group, so that a span of a scope already seen skips the key's string. */
  readonly #byScope = new Map<ReadableSpan["resource"], Map<ReadableSpan["instrumentationScope"], ScopeGroup>>();
  #count = 0;

  /** Spans added since the last take(). */
  get count(): number {
    return this.#count;
  }

  add(sp: ReadableSpan): void {
    const group = this.#byScope.get(sp.resource)?.get(sp.instrumentationScope) ?? this.#group(sp);
    span(group.spans, sp);
    group.count++;
    this.#count++;
  }

  /** The group of a span whose scope object is new: equal scopes (name, version, schema) share one. */
  #group(sp: ReadableSpan): ScopeGroup {
    let scopes = this.#byResource.get(sp.resource);
    if (!scopes) this.#byResource.set(sp.resource, (scopes = new Map()));
    const sc = sp.instrumentationScope;
    const key = `${sc.name}@${sc.version ?? ""}:${sc.schemaUrl ?? ""}`;
    let group = scopes.get(key);
    if (!group) scopes.set(key, (group = { scope: sc, spans: new ProtoWriter(4096), count: 0 }));
    let byObject = this.#byScope.get(sp.resource);
    if (!byObject) this.#byScope.set(sp.resource, (byObject = new Map()));
    byObject.set(sc, group);
    return group;
  }

  /** The request holding every span added since the last take (empty bytes for none); starts over. */
  take(): Uint8Array {
    if (this.#count === 0) return new Uint8Array(0);
    let size = 0;
    for (const scopes of this.#byResource.values()) for (const g of scopes.values()) size += g.spans.pos + 256;
    const w = new ProtoWriter(size);
    for (const [resource, scopes] of this.#byResource) {
      let any = false;
      for (const g of scopes.values()) any ||= g.count > 0;
      if (!any) continue;
      w.tag(1, LEN);
      const rs = w.begin();
      w.tag(1, LEN);
      const r = w.begin();
      keyValues(w, 1, resource.attributes);
      w.end(r);
      for (const g of scopes.values()) {
        if (g.count === 0) continue;
        w.tag(2, LEN);
        const ss = w.begin();
        w.tag(1, LEN);
        const sc = w.begin();
        w.string(1, g.scope.name);
        w.string(2, g.scope.version);
        w.end(sc);
        w.raw(g.spans.bytesWritten());
        w.string(3, g.scope.schemaUrl);
        w.end(ss);
        // The group's buffer stays, at the size a batch needed, for the next batch.
        g.spans.pos = 0;
        g.count = 0;
      }
      w.string(3, resource.schemaUrl);
      w.end(rs);
    }
    this.#count = 0;
    return w.bytesWritten();
  }
}

/** The protobuf bytes of an ExportTraceServiceRequest holding these spans. */
export function encodeSpans(spans: readonly ReadableSpan[]): Uint8Array {
  const request = new SpanRequestBuilder();
  for (const sp of spans) request.add(sp);
  return request.take();
}
