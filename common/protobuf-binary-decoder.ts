// protobuf-es's fromBinary, object for object, with fewer allocations: fromBinary wraps every message it
// reads, nested ones included, in a reflection object with three Maps and reads through a BinaryReader
// that returns a fresh [lo, hi] array per varint and a [field, wireType] array per tag; under load that
// was the largest share of what the gateway allocated per invocation after the encoder
// (protobuf-binary-encoder.ts). This decoder starts from protobuf-es's own zero message (create) and sets
// the message's properties as fromBinary does, by a plan made once per message type.
//
// It takes the common case only: proto3 messages without google.protobuf types, well-formed input with
// each field in its declared wire type, no unknown fields, no repeated singular message. Anything else
// (malformed or truncated bytes, invalid UTF-8 in a string, a field number it does not know, a message
// field given twice, which protobuf-es merges) is decoded again by fromBinary, so the result or the error
// is protobuf-es's. tests/unit/protobuf-binary-decoder.test.ts compares both on every message type of our
// contracts, filled at random, and on corrupted bytes.
import { isUtf8 } from "node:buffer";
import { create, fromBinary, protoInt64, ScalarType, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { scalarZeroValue } from "@bufbuild/protobuf/reflect";
import { hasOwnJsForm, LEN, messageOf, perMessageType, wireTypeOf } from "./protobuf-wire.js";

const EDITION_PROTO3 = 999;
const RECURSION_LIMIT = 100;

/** Thrown inside the decoder for input it leaves to fromBinary. */
const FALLBACK = Symbol("protobuf-binary-decoder.fallback");

interface FieldPlan {
  readonly name: string;
  readonly kind: DescField["fieldKind"];
  readonly oneof: string | undefined;
  /** Of a scalar or enum field, a list's items, a map's values. */
  readonly scalar: ScalarType;
  readonly ofMessages: boolean;
  readonly message: DescMessage | undefined;
  /** The wire type a singular value (a list's unpacked item, a map entry's value) of this field comes in. */
  readonly wire: number;
}

interface MessagePlan {
  readonly desc: DescMessage;
  /** By field number; undefined for a number this message does not declare. */
  readonly byNumber: readonly (FieldPlan | undefined)[];
  readonly fallback: boolean;
}

const planOf = perMessageType(makePlan);

function makePlan(desc: DescMessage): MessagePlan {
  // proto3 only: its zero message has every implicit field as an own property and no prototype chain.
  let fallback = desc.file.edition !== EDITION_PROTO3;
  const byNumber: (FieldPlan | undefined)[] = [];
  for (const f of desc.fields) {
    const message = messageOf(f);
    if (message && hasOwnJsForm(message)) fallback = true;
    if (f.fieldKind === "map" && f.mapKey !== ScalarType.STRING) fallback = true;
    if ((f as { longAsString?: boolean }).longAsString) fallback = true; // 64-bit integers as strings (jstype)
    if (f.number > 1024) fallback = true; // keeps byNumber a small dense array
    const scalar = f.fieldKind === "message" ? ScalarType.INT32 : (f.scalar ?? ScalarType.INT32); // enums are int32 on the wire
    byNumber[f.number] = {
      name: f.localName,
      kind: f.fieldKind,
      oneof: f.oneof?.localName,
      scalar,
      ofMessages: message !== undefined && f.fieldKind !== "message",
      message,
      wire: message !== undefined ? LEN : wireTypeOf(scalar),
    };
  }
  return { desc, byNumber, fallback };
}

const EMPTY = Buffer.alloc(0);

// The input being decoded, a Buffer view of it, and the read position; decoding is synchronous.
let input: Uint8Array = new Uint8Array(0);
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
// The two halves of the last 64-bit varint read.
let lo = 0;
let hi = 0;

function varint32(): number {
  let b = buf[pos++]!;
  let result = b & 0x7f;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 7;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 14;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 21;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x0f) << 28;
  // A negative int32 is sign-extended to ten bytes; the rest carries no bits of a 32-bit value.
  for (let i = 5; (b & 0x80) !== 0 && i < 10; i++) b = buf[pos++]!;
  if ((b & 0x80) !== 0 || b === undefined) throw FALLBACK;
  return result >>> 0;
}

/** protobuf-es's varint64read, into lo and hi. */
function varint64(): void {
  let l = 0;
  let h = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = buf[pos++]!;
    l |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      lo = l;
      hi = h;
      return;
    }
  }
  const middle = buf[pos++]!;
  l |= (middle & 0x0f) << 28;
  h = (middle & 0x70) >> 4;
  if ((middle & 0x80) === 0) {
    lo = l;
    hi = h;
    return;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    const b = buf[pos++]!;
    h |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      lo = l;
      hi = h;
      return;
    }
  }
  throw FALLBACK;
}

/** The end of a length-delimited value whose length is next; past the input's (or the enclosing message's) end is malformed. */
function lengthEnd(limit: number): number {
  const n = varint32();
  const end = pos + n;
  if (end > limit) throw FALLBACK;
  return end;
}

/** Where the next n bytes of a fixed-width value start; past `limit` is malformed. */
function take(n: number, limit: number): number {
  if (pos + n > limit) throw FALLBACK;
  pos += n;
  return pos - n;
}

function readString(limit: number): string {
  const end = lengthEnd(limit);
  let ascii = true;
  for (let i = pos; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  // proto3 strings are validated: protobuf-es refuses invalid UTF-8, so does fromBinary on the retry.
  if (!ascii && !isUtf8(buf.subarray(pos, end))) throw FALLBACK;
  const s = buf.toString("utf8", pos, end);
  pos = end;
  return s;
}

function readScalar(type: ScalarType, limit: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return readString(limit);
    case ScalarType.BYTES: {
      const end = lengthEnd(limit);
      const b = input.subarray(pos, end); // a view of the input, as protobuf-es's reader returns
      pos = end;
      return b;
    }
    case ScalarType.BOOL:
      varint64();
      return lo !== 0 || hi !== 0;
    case ScalarType.INT32:
      return varint32() | 0;
    case ScalarType.UINT32:
      return varint32();
    case ScalarType.SINT32: {
      const z = varint32();
      return (z >>> 1) ^ -(z & 1);
    }
    case ScalarType.INT64:
      varint64();
      return protoInt64.dec(lo, hi);
    case ScalarType.UINT64:
      varint64();
      return protoInt64.uDec(lo, hi);
    case ScalarType.SINT64: {
      varint64();
      const s = -(lo & 1);
      return protoInt64.dec(((lo >>> 1) | ((hi & 1) << 31)) ^ s, (hi >>> 1) ^ s);
    }
    case ScalarType.DOUBLE:
      return buf.readDoubleLE(take(8, limit));
    case ScalarType.FLOAT:
      return buf.readFloatLE(take(4, limit));
    case ScalarType.FIXED32:
      return buf.readUInt32LE(take(4, limit));
    case ScalarType.SFIXED32:
      return buf.readInt32LE(take(4, limit));
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const at = take(8, limit);
      const l = buf.readInt32LE(at);
      const h = buf.readInt32LE(at + 4);
      return type === ScalarType.FIXED64 ? protoInt64.uDec(l, h) : protoInt64.dec(l, h);
    }
  }
  throw FALLBACK;
}

type Local = Record<string, unknown>;

/** A message of `plan`'s type from pos to end. */
function readMessage(plan: MessagePlan, end: number, depth: number): Local {
  if (plan.fallback || depth > RECURSION_LIMIT) throw FALLBACK;
  const m = create(plan.desc) as Local;
  while (pos < end) {
    const t = varint32();
    const f = plan.byNumber[t >>> 3];
    if (f === undefined) throw FALLBACK; // an unknown field: fromBinary keeps it in $unknown
    const wire = t & 7;
    switch (f.kind) {
      case "scalar":
      case "enum":
        if (wire !== f.wire) throw FALLBACK;
        set(m, f, readScalar(f.scalar, end));
        break;
      case "message": {
        if (wire !== LEN) throw FALLBACK;
        // A second occurrence is merged into the first by protobuf-es.
        if (f.oneof !== undefined ? (m[f.oneof] as { case: unknown }).case === f.name : m[f.name] !== undefined) throw FALLBACK;
        const inner = lengthEnd(end);
        set(m, f, readMessage(planOf(f.message!), inner, depth + 1));
        break;
      }
      case "list": {
        const list = m[f.name] as unknown[];
        if (f.ofMessages) {
          if (wire !== LEN) throw FALLBACK;
          const inner = lengthEnd(end);
          list.push(readMessage(planOf(f.message!), inner, depth + 1));
        } else if (wire === LEN && f.wire !== LEN) {
          const packedEnd = lengthEnd(end);
          while (pos < packedEnd) list.push(readScalar(f.scalar, packedEnd));
          if (pos !== packedEnd) throw FALLBACK;
        } else {
          if (wire !== f.wire) throw FALLBACK;
          list.push(readScalar(f.scalar, end));
        }
        break;
      }
      case "map": {
        if (wire !== LEN) throw FALLBACK;
        const entryEnd = lengthEnd(end);
        let key = "";
        let value: unknown;
        while (pos < entryEnd) {
          const et = varint32();
          if (et === ((1 << 3) | LEN)) key = readString(entryEnd);
          else if (et >>> 3 === 2 && (et & 7) === f.wire) value = f.ofMessages ? readMessage(planOf(f.message!), lengthEnd(entryEnd), depth + 1) : readScalar(f.scalar, entryEnd);
          else throw FALLBACK;
        }
        if (pos !== entryEnd) throw FALLBACK;
        // As fromBinary: a missing value is the zero value (an enum's first value, 0 in proto3).
        (m[f.name] as Local)[key] = value ?? (f.ofMessages ? create(f.message!) : scalarZeroValue(f.scalar, false));
        break;
      }
    }
    if (pos > end) throw FALLBACK;
  }
  if (pos !== end) throw FALLBACK;
  return m;
}

function set(m: Local, f: FieldPlan, value: unknown): void {
  if (f.oneof !== undefined) m[f.oneof] = { case: f.name, value };
  else m[f.name] = value;
}

/** fromBinary(schema, bytes): the same message. Byte fields are views of `bytes`, as fromBinary's are. */
export function decodeMessage<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  input = bytes;
  buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  try {
    return readMessage(planOf(schema), buf.length, 1) as MessageShape<D>;
  } catch (err) {
    if (err !== FALLBACK && !(err instanceof RangeError)) throw err;
    return fromBinary(schema, bytes);
  } finally {
    input = buf = EMPTY; // the input is not kept alive by the decoder
  }
}
