// Just enough of the protobuf wire format to write what no protobuf library will: wrong wire types,
// field numbers out of range, length prefixes larger than the message, over-long varints, deep groups.
// And a lenient reader of a message's top-level fields, for the mutators that edit one field.

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** A varint of any non-negative value (bigint for 64-bit ones); `minBytes` pads it with 0x80 continuation bytes. */
export function varint(value: number | bigint, minBytes = 0): Buffer {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  // Padding keeps the value: more zero groups, the last one ending the varint (over 10 bytes is invalid).
  if (out.length < minBytes) {
    out[out.length - 1] |= 0x80;
    while (out.length < minBytes - 1) out.push(0x80);
    out.push(0x00);
  }
  return Buffer.from(out);
}

/** A field key: (number << 3) | wire type; both may be out of range on purpose. */
export function tag(fieldNumber: number, wireType: number): Buffer {
  return varint((BigInt(fieldNumber) << 3n) | BigInt(wireType & 7));
}

export function lenField(fieldNumber: number, content: Uint8Array, lengthOverride?: number | bigint): Buffer {
  return Buffer.concat([tag(fieldNumber, WireType.LEN), varint(lengthOverride ?? content.length), content]);
}

export function varintField(fieldNumber: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(fieldNumber, WireType.VARINT), varint(value)]);
}

/** `depth` nested groups of field `fieldNumber`: recursion a decoder that skips unknown groups must survive. */
export function nestedGroups(fieldNumber: number, depth: number, closed = true): Buffer {
  const open = tag(fieldNumber, WireType.SGROUP);
  const close = tag(fieldNumber, WireType.EGROUP);
  return Buffer.concat([Buffer.alloc(open.length * depth, open), closed ? Buffer.alloc(close.length * depth, close) : Buffer.alloc(0)]);
}

/** `depth` nested length-delimited fields of field `fieldNumber` (each prefix right), built in linear time. */
export function nestedMessages(fieldNumber: number, depth: number, inner: Uint8Array = Buffer.alloc(0)): Buffer {
  const key = tag(fieldNumber, WireType.LEN);
  const heads: Buffer[] = [];
  let length = inner.length;
  for (let i = 0; i < depth; i++) {
    const head = Buffer.concat([key, varint(length)]);
    heads.push(head);
    length += head.length;
  }
  return Buffer.concat([...heads.reverse(), inner]);
}

/** One top-level field as it sits in the message: its bytes (key included) and where its content is. */
export interface RawField {
  readonly fieldNumber: number;
  readonly wireType: number;
  readonly start: number;
  readonly end: number;
  /** The content of a LEN field (without its prefix). */
  readonly contentStart?: number;
}

function readVarint(buf: Uint8Array, pos: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let shift = 0n, i = pos; i < buf.length && shift < 70n; shift += 7n, i++) {
    value |= BigInt(buf[i] & 0x7f) << shift;
    if ((buf[i] & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/** The top-level fields, as far as the bytes parse (a reader for mutation, not validation: groups are not followed). */
export function topLevelFields(buf: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const key = readVarint(buf, pos);
    if (!key) break;
    const fieldNumber = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    let end: number;
    let contentStart: number | undefined;
    switch (wireType) {
      case WireType.VARINT: {
        const v = readVarint(buf, key.next);
        if (!v) return out;
        end = v.next;
        break;
      }
      case WireType.I64:
        end = key.next + 8;
        break;
      case WireType.I32:
        end = key.next + 4;
        break;
      case WireType.LEN: {
        const len = readVarint(buf, key.next);
        if (!len) return out;
        contentStart = len.next;
        end = len.next + Number(len.value);
        break;
      }
      default:
        return out;
    }
    if (end > buf.length) return out;
    out.push({ fieldNumber, wireType, start: pos, end, contentStart });
    pos = end;
  }
  return out;
}
