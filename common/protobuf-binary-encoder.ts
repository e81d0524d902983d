// protobuf-es's toBinary, byte for byte, without its allocations. toBinary walks a message through a
// reflection object (three Maps per message, nested ones included) and writes into a BinaryWriter that
// pushes every byte onto a JS array, copies it into a new Uint8Array at every string, bytes, float and
// nested message, and copies all of those once more at the end: 20 of the 58 KB the gateway allocated
// per invocation under load, for the three messages it encodes. This encoder reads the message's own
// properties by a plan made once per message type and writes into one reused scratch buffer, copying
// the result out once (`npm run bench:codec`: 5-8x faster on those messages).
//
// Only well-typed values take this path; anything else (a 32-bit field holding a string, a 64-bit one
// held as a string, a map with non-string keys, a google.protobuf type with its own JS representation,
// a message of another type in a field) goes to toBinary, which encodes it or throws its own error, so
// the bytes and the errors are protobuf-es's. tests/unit/protobuf-binary-encoder.test.ts compares the
// bytes with toBinary's for every message type of our contracts, filled at random.
import { protoInt64, ScalarType, toBinary, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { isScalarZeroValue } from "@bufbuild/protobuf/reflect";
import { END_GROUP, hasOwnJsForm, LEN, messageOf, perMessageType, START_GROUP, wireTypeOf } from "./protobuf-wire.js";

// FeatureSet.FieldPresence
const IMPLICIT = 2;
const LEGACY_REQUIRED = 3;

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const FLOAT32_MAX = 3.4028234663852886e38;

/** Thrown inside the encoder for a value it leaves to toBinary. */
const FALLBACK = Symbol("protobuf-binary-encoder.fallback");

type Kind = "scalar" | "enum" | "message" | "list" | "map";

interface FieldPlan {
  readonly name: string;
  readonly number: number;
  readonly kind: Kind;
  /** The oneof group's property, when the field is a member of one. */
  readonly oneof: string | undefined;
  readonly presence: number;
  /** The scalar type of a scalar or enum field, a scalar or enum list's items, a map's values. */
  readonly scalar: ScalarType;
  /** Of an enum field: its zero value (the first), which implicit presence leaves out. */
  readonly enumZero: number;
  readonly packed: boolean;
  /** Of a message field or a list of messages: group encoding (StartGroup … EndGroup). */
  readonly group: boolean;
  /** Of a list or map: whether its items (values) are messages. */
  readonly ofMessages: boolean;
  readonly message: DescMessage | undefined;
}

interface MessagePlan {
  readonly typeName: string;
  readonly fields: readonly FieldPlan[];
  /** Set when a field holds a google.protobuf type that protobuf-es represents in a JS form of its own. */
  readonly fallback: boolean;
}

const planOf = perMessageType(makePlan);

function makePlan(desc: DescMessage): MessagePlan {
  let fallback = false;
  const fields = [...desc.fields]
    .sort((a, b) => a.number - b.number)
    .map((f: DescField): FieldPlan => {
      const message = messageOf(f);
      if (message && hasOwnJsForm(message)) fallback = true;
      if (f.fieldKind === "map" && f.mapKey !== ScalarType.STRING) fallback = true;
      const scalar = f.fieldKind === "message" ? ScalarType.INT32 : (f.scalar ?? ScalarType.INT32); // enums are int32 on the wire
      return {
        name: f.localName,
        number: f.number,
        kind: f.fieldKind,
        oneof: f.oneof?.localName,
        presence: f.presence,
        scalar,
        enumZero: f.fieldKind === "enum" ? (f.enum.values[0]?.number ?? 0) : 0,
        packed: f.fieldKind === "list" && f.packed,
        group: (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) && f.delimitedEncoding,
        ofMessages: message !== undefined && f.fieldKind !== "message",
        message,
      };
    });
  return { typeName: desc.typeName, fields, fallback };
}

// The scratch buffer every encoding writes into; encoding is synchronous, so one per process suffices.
let buf = Buffer.allocUnsafeSlow(16 * 1024);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = Buffer.allocUnsafeSlow(size);
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function varint32(v: number): void {
  ensure(5);
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
}

/** protobuf-es's varint64write, into the scratch buffer. */
function varint64(lo: number, hi: number): void {
  ensure(10);
  for (let i = 0; i < 28; i += 7) {
    const shift = lo >>> i;
    const hasNext = !(shift >>> 7 === 0 && hi === 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  const splitBits = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
  const hasMoreBits = !(hi >> 3 === 0);
  buf[pos++] = (hasMoreBits ? splitBits | 0x80 : splitBits) & 0xff;
  if (!hasMoreBits) return;
  for (let i = 3; i < 31; i += 7) {
    const shift = hi >>> i;
    const hasNext = !(shift >>> 7 === 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  buf[pos++] = (hi >>> 31) & 0x01;
}

function tag(number: number, wire: number): void {
  varint32(((number << 3) | wire) >>> 0);
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Reserves one byte for a length; returns where the delimited data starts. */
function beginLength(): number {
  ensure(1);
  pos++;
  return pos;
}

/** Writes the length of what followed beginLength, moving the data when it needs more than one byte. */
function endLength(start: number): void {
  const length = pos - start;
  if (length < 0x80) {
    buf[start - 1] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  ensure(extra);
  buf.copyWithin(start + extra, start, pos);
  pos += extra;
  let at = start - 1;
  let v = length;
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at] = v;
}

function writeString(s: string): void {
  const n = s.length;
  ensure(5 + 3 * n);
  if (n < 0x80 / 3) {
    // Short: the UTF-8 length fits one byte whatever the characters; ASCII is copied here, the rest by Buffer.
    const start = ++pos;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos++] = c;
    }
    if (i < n) pos = start + buf.write(s, start, "utf8");
    buf[start - 1] = pos - start;
    return;
  }
  const start = beginLength();
  pos += buf.write(s, pos, "utf8");
  endLength(start);
}

function writeBytes(b: Uint8Array): void {
  varint32(b.length);
  ensure(b.length);
  buf.set(b, pos);
  pos += b.length;
}

function int64Parts(v: unknown, unsigned: boolean): { lo: number; hi: number } {
  if (typeof v !== "bigint") throw FALLBACK; // a number or string: protobuf-es's conversions and errors
  return unsigned ? protoInt64.uEnc(v) : protoInt64.enc(v);
}

/** One value of a scalar type, without its tag: protobuf-es's writeScalarValue for well-typed values. */
function writeScalarValue(type: ScalarType, v: unknown): void {
  switch (type) {
    case ScalarType.STRING:
      if (typeof v !== "string") throw FALLBACK;
      return writeString(v);
    case ScalarType.BOOL:
      if (typeof v !== "boolean") throw FALLBACK;
      ensure(1);
      buf[pos++] = v ? 1 : 0;
      return;
    case ScalarType.INT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > INT32_MAX || v < INT32_MIN) throw FALLBACK;
      return v >= 0 ? varint32(v) : varint64(v, -1);
    case ScalarType.UINT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > UINT32_MAX || v < 0) throw FALLBACK;
      return varint32(v);
    case ScalarType.SINT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > INT32_MAX || v < INT32_MIN) throw FALLBACK;
      return varint32(((v << 1) ^ (v >> 31)) >>> 0);
    case ScalarType.BYTES:
      if (!(v instanceof Uint8Array)) throw FALLBACK;
      return writeBytes(v);
    case ScalarType.DOUBLE:
      if (typeof v !== "number") throw FALLBACK;
      ensure(8);
      pos = buf.writeDoubleLE(v, pos);
      return;
    case ScalarType.FLOAT:
      if (typeof v !== "number" || (Number.isFinite(v) && (v > FLOAT32_MAX || v < -FLOAT32_MAX))) throw FALLBACK;
      ensure(4);
      pos = buf.writeFloatLE(v, pos);
      return;
    case ScalarType.FIXED32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > UINT32_MAX || v < 0) throw FALLBACK;
      ensure(4);
      pos = buf.writeUInt32LE(v, pos);
      return;
    case ScalarType.SFIXED32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > INT32_MAX || v < INT32_MIN) throw FALLBACK;
      ensure(4);
      pos = buf.writeInt32LE(v, pos);
      return;
    case ScalarType.INT64: {
      const { lo, hi } = int64Parts(v, false);
      return varint64(lo, hi);
    }
    case ScalarType.UINT64: {
      const { lo, hi } = int64Parts(v, true);
      return varint64(lo, hi);
    }
    case ScalarType.SINT64: {
      const { lo: l, hi: h } = int64Parts(v, false);
      const sign = h >> 31;
      return varint64((l << 1) ^ sign, ((h << 1) | (l >>> 31)) ^ sign);
    }
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const { lo, hi } = int64Parts(v, type === ScalarType.FIXED64);
      ensure(8);
      buf.writeInt32LE(lo, pos);
      pos = buf.writeInt32LE(hi, pos + 4);
      return;
    }
  }
  throw FALLBACK;
}

type Local = Record<string, unknown>;

function writeMessage(plan: MessagePlan, m: Local): void {
  if (plan.fallback || m.$typeName !== plan.typeName) throw FALLBACK;
  for (const f of plan.fields) {
    let v: unknown;
    if (f.oneof !== undefined) {
      const group = m[f.oneof] as { case: string | undefined; value?: unknown };
      if (group.case !== f.name) continue;
      v = group.value;
    } else {
      v = m[f.name];
      if (f.presence !== IMPLICIT) {
        if (v === undefined || !Object.prototype.hasOwnProperty.call(m, f.name)) {
          if (f.presence === LEGACY_REQUIRED) throw FALLBACK; // toBinary's "required field not set"
          continue;
        }
      } else if (f.kind === "list") {
        if (!(v as unknown[]).length) continue;
      } else if (f.kind === "map") {
        if (typeof v !== "object" || v === null) throw FALLBACK;
      } else if (f.kind === "enum") {
        if (v === f.enumZero) continue;
      } else if (f.kind === "scalar") {
        if (isScalarZeroValue(f.scalar, v)) continue; // what implicit presence leaves out
      } else throw FALLBACK; // a message field with implicit presence: toBinary's error
    }
    writeField(f, v);
  }
  const unknown = m.$unknown as { no: number; wireType: number; data: Uint8Array }[] | undefined;
  if (unknown) {
    for (const u of unknown) {
      tag(u.no, u.wireType);
      ensure(u.data.length);
      buf.set(u.data, pos);
      pos += u.data.length;
    }
  }
}

function writeNested(f: FieldPlan, v: unknown): void {
  if (typeof v !== "object" || v === null) throw FALLBACK;
  const plan = planOf(f.message!);
  if (f.group) {
    tag(f.number, START_GROUP);
    writeMessage(plan, v as Local);
    tag(f.number, END_GROUP);
    return;
  }
  tag(f.number, LEN);
  const start = beginLength();
  writeMessage(plan, v as Local);
  endLength(start);
}

function writeField(f: FieldPlan, v: unknown): void {
  switch (f.kind) {
    case "scalar":
    case "enum":
      tag(f.number, wireTypeOf(f.scalar));
      return writeScalarValue(f.scalar, v);
    case "message":
      return writeNested(f, v);
    case "list": {
      if (!Array.isArray(v)) throw FALLBACK;
      if (f.ofMessages) {
        for (const item of v) writeNested(f, item);
      } else if (f.packed) {
        tag(f.number, LEN);
        const start = beginLength();
        for (const item of v) writeScalarValue(f.scalar, item);
        endLength(start);
      } else {
        const wire = wireTypeOf(f.scalar);
        for (const item of v) {
          tag(f.number, wire);
          writeScalarValue(f.scalar, item);
        }
      }
      return;
    }
    case "map": {
      const obj = v as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        tag(f.number, LEN);
        const start = beginLength();
        tag(1, LEN);
        writeString(key);
        if (f.ofMessages) {
          const value = obj[key];
          if (typeof value !== "object" || value === null) throw FALLBACK;
          tag(2, LEN);
          const inner = beginLength();
          writeMessage(planOf(f.message!), value as Local);
          endLength(inner);
        } else {
          tag(2, wireTypeOf(f.scalar));
          writeScalarValue(f.scalar, obj[key]);
        }
        endLength(start);
      }
      return;
    }
  }
}

/** Encodes the message after `prefix` bytes of the scratch buffer; false when toBinary must do it. */
function encodeIntoScratch(schema: DescMessage, message: object, prefix: number): boolean {
  pos = prefix;
  ensure(prefix);
  try {
    writeMessage(planOf(schema), message as Local);
    return true;
  } catch (err) {
    if (err === FALLBACK) return false;
    throw err;
  }
}

/** toBinary(schema, message): the same bytes (a Buffer, which is a Uint8Array). */
export function encodeMessage<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  if (!encodeIntoScratch(schema, message, 0)) return toBinary(schema, message);
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

/** The message as one uncompressed gRPC envelope (a 0 flag, a 4-byte big-endian length, toBinary's bytes). */
export function encodeEnvelope<D extends DescMessage>(schema: D, message: MessageShape<D>): Buffer {
  if (!encodeIntoScratch(schema, message, 5)) {
    const bytes = toBinary(schema, message);
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    frame.set(bytes, 5);
    return frame;
  }
  buf[0] = 0;
  buf.writeUInt32BE(pos - 5, 1);
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}
