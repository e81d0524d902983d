// Mutations of a binary protobuf message: bit flips, truncation, random bytes, wrong wire types, length
// prefixes larger than the message, duplicated and unknown fields, over-long varints, deep groups, and
// mutations inside one nested field (re-prefixed, so they reach the validation of inner messages).
import { lenField, nestedGroups, nestedMessages, tag, topLevelFields, varint, varintField, WireType } from "./protobuf-wire.js";
import type { Rng } from "./rng.js";

export interface Mutated {
  readonly bytes: Buffer;
  readonly kind: string;
}

type Mutator = (rng: Rng, msg: Buffer) => Buffer;

const HUGE_LENGTHS: ReadonlyArray<number | bigint> = [0x7fffffff, 0x80000000, 0xffffffff, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, 1 << 28];
/** Field numbers a decoder must treat as unknown, or reject: 0 and the reserved range are invalid. */
const ODD_FIELD_NUMBERS = [0, 15, 16, 100, 1000, 18_999, 19_000, 19_999, 536_870_911, 536_870_912];

const MUTATORS: Record<string, Mutator> = {
  "bit-flip": (rng, msg) => {
    if (msg.length === 0) return rng.bytes(1);
    const out = Buffer.from(msg);
    for (let i = rng.int(1, 8); i > 0; i--) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7);
    return out;
  },
  truncate: (rng, msg) => msg.subarray(0, msg.length === 0 ? 0 : rng.int(0, msg.length - 1)),
  "random-bytes": (rng) => rng.bytes(rng.length(rng.chance(0.05) ? 64 * 1024 : 256)),
  overwrite: (rng, msg) => {
    if (msg.length === 0) return rng.bytes(4);
    const out = Buffer.from(msg);
    const at = rng.int(0, out.length - 1);
    rng.bytes(Math.min(out.length - at, rng.int(1, 16))).copy(out, at);
    return out;
  },
  "insert-bytes": (rng, msg) => {
    const at = rng.int(0, msg.length);
    return Buffer.concat([msg.subarray(0, at), rng.bytes(rng.int(1, 16)), msg.subarray(at)]);
  },
  "wrong-wire-type": (rng, msg) => {
    const fields = topLevelFields(msg);
    if (fields.length === 0) return Buffer.concat([msg, tag(1, rng.int(0, 7)), rng.bytes(4)]);
    const f = rng.pick(fields);
    let wireType = rng.int(0, 7);
    if (wireType === f.wireType) wireType = (wireType + 1) % 8;
    // The key now says another type; the value bytes stay as they were.
    const valueStart = f.start + tag(f.fieldNumber, f.wireType).length;
    return Buffer.concat([msg.subarray(0, f.start), tag(f.fieldNumber, wireType), msg.subarray(valueStart)]);
  },
  "huge-length": (rng, msg) => {
    const fields = topLevelFields(msg).filter((f) => f.wireType === WireType.LEN);
    const length = rng.pick(HUGE_LENGTHS);
    if (fields.length === 0 || rng.chance(0.3)) return Buffer.concat([msg, tag(rng.int(1, 3), WireType.LEN), varint(length), rng.bytes(rng.int(0, 8))]);
    const f = rng.pick(fields);
    const key = tag(f.fieldNumber, WireType.LEN);
    return Buffer.concat([msg.subarray(0, f.start), key, varint(length), msg.subarray(f.contentStart!)]);
  },
  "length-off-by-one": (rng, msg) => {
    const fields = topLevelFields(msg).filter((f) => f.wireType === WireType.LEN);
    if (fields.length === 0) return Buffer.concat([msg, lenField(1, rng.bytes(3), 4)]);
    const f = rng.pick(fields);
    const content = msg.subarray(f.contentStart!, f.end);
    return Buffer.concat([msg.subarray(0, f.start), lenField(f.fieldNumber, content, Math.max(0, content.length + rng.pick([-1, 1]))), msg.subarray(f.end)]);
  },
  "duplicate-field": (rng, msg) => {
    const fields = topLevelFields(msg);
    if (fields.length === 0) return Buffer.concat([msg, msg]);
    const f = rng.pick(fields);
    const field = msg.subarray(f.start, f.end);
    // Many copies of a small field; never more than a few MiB in all.
    const copies = Math.max(1, Math.min(rng.chance(0.1) ? rng.int(100, 2000) : rng.int(1, 3), Math.floor((4 << 20) / Math.max(1, field.length))));
    return Buffer.concat([msg, ...Array.from({ length: copies }, () => field)]);
  },
  "unknown-field": (rng, msg) => {
    const n = rng.pick(ODD_FIELD_NUMBERS);
    const wireType = rng.int(0, 7);
    let value: Buffer;
    if (wireType === WireType.VARINT) value = varint(rng.int(0, 1e9));
    else if (wireType === WireType.I64) value = rng.bytes(8);
    else if (wireType === WireType.I32) value = rng.bytes(4);
    else if (wireType === WireType.LEN) value = Buffer.concat([varint(4), rng.bytes(4)]);
    else if (wireType === WireType.SGROUP) value = rng.chance(0.5) ? tag(n, WireType.EGROUP) : Buffer.alloc(0);
    else value = rng.bytes(rng.int(0, 4));
    const field = Buffer.concat([tag(n, wireType), value]);
    const at = rng.chance(0.5) ? msg.length : 0;
    return Buffer.concat([msg.subarray(0, at), field, msg.subarray(at)]);
  },
  "overlong-varint": (rng, msg) => {
    // A varint of more than 10 bytes, as a key or a value.
    const bad = Buffer.concat([Buffer.alloc(rng.int(10, 20), 0xff), Buffer.from([0x01])]);
    return rng.chance(0.5) ? Buffer.concat([msg, bad]) : Buffer.concat([msg, tag(1, WireType.VARINT), bad]);
  },
  "deep-groups": (rng, msg) => Buffer.concat([msg, nestedGroups(rng.pick([99, 1000, 100_000]), rng.pick([100, 10_000, 100_000]), rng.chance(0.8))]),
  "deep-messages": (rng, msg) => Buffer.concat([msg, nestedMessages(rng.pick([1, 2, 99]), rng.pick([100, 1000, 5000]))]),
  "end-group": (rng, msg) => Buffer.concat([msg, tag(rng.int(1, 5), WireType.EGROUP)]),
  splice: (rng, msg) => {
    const at = rng.int(0, msg.length);
    return Buffer.concat([msg.subarray(0, at), msg.subarray(rng.int(0, msg.length))]);
  },
  empty: () => Buffer.alloc(0),
  "packed-garbage": (rng, msg) => Buffer.concat([msg, varintField(rng.int(1, 12), 2n ** 64n - 1n), varintField(rng.int(1, 12), rng.int(0, 2 ** 31))]),
};

const WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["bit-flip", 12],
  ["truncate", 10],
  ["random-bytes", 6],
  ["overwrite", 6],
  ["insert-bytes", 5],
  ["wrong-wire-type", 10],
  ["huge-length", 8],
  ["length-off-by-one", 6],
  ["duplicate-field", 8],
  ["unknown-field", 10],
  ["overlong-varint", 4],
  ["deep-groups", 2],
  ["deep-messages", 2],
  ["end-group", 3],
  ["splice", 4],
  ["empty", 2],
  ["packed-garbage", 3],
];

/** One or more mutations (sometimes inside a nested field, re-prefixed) of the message. */
export function mutateBinary(rng: Rng, msg: Uint8Array): Mutated {
  const kinds: string[] = [];
  let out: Buffer = Buffer.from(msg);
  for (let i = rng.chance(0.25) ? rng.int(2, 3) : 1; i > 0; i--) {
    const kind = rng.weighted(WEIGHTS);
    const nested = topLevelFields(out).filter((f) => f.wireType === WireType.LEN && f.end - f.contentStart! > 2);
    if (nested.length > 0 && rng.chance(0.3) && kind !== "empty" && kind !== "random-bytes") {
      const f = rng.pick(nested);
      const inner = MUTATORS[kind](rng, out.subarray(f.contentStart!, f.end));
      out = Buffer.concat([out.subarray(0, f.start), lenField(f.fieldNumber, inner), out.subarray(f.end)]);
      kinds.push(`nested-${kind}`);
    } else {
      out = MUTATORS[kind](rng, out);
      kinds.push(kind);
    }
  }
  return { bytes: out, kind: kinds.join("+") };
}
