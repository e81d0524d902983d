// common/protobuf-binary-decoder.ts must give exactly fromBinary's message (same values, types, property
// order), or fromBinary's error, for any bytes: every message type of our contracts and the OTLP ones
// filled at random, the proto3 and proto2 kitchen sinks, and corrupted, truncated and unusual encodings.
import test, { type ExecutionContext } from "ava";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { decodeMessage } from "../../common/protobuf-binary-decoder.js";
import { generatedMessages, kitchenSink, pick, INT32S, randomInit, rng } from "../helpers/random-messages.js";

/** The own property names of a message and its nested values, in order: fromBinary's order is part of the result. */
function keyOrder(v: unknown): unknown {
  if (v instanceof Uint8Array || typeof v !== "object" || v === null) return typeof v;
  if (Array.isArray(v)) return v.map(keyOrder);
  return Object.entries(v).map(([k, x]) => [k, keyOrder(x)]);
}

function sameAsFromBinary(t: ExecutionContext, schema: DescMessage, bytes: Uint8Array): void {
  let expected: unknown;
  let expectedError: Error | undefined;
  try {
    expected = fromBinary(schema, bytes);
  } catch (err) {
    expectedError = err as Error;
  }
  if (expectedError) {
    t.throws(() => decodeMessage(schema, bytes), { message: expectedError.message }, schema.typeName);
    return;
  }
  const got = decodeMessage(schema, bytes);
  t.deepEqual(got, expected, schema.typeName);
  t.deepEqual(keyOrder(got), keyOrder(expected), `${schema.typeName}: property order`);
}

test("every generated message type, filled at random: fromBinary's message", async (t) => {
  const r = rng(11);
  for (const schema of await generatedMessages()) {
    sameAsFromBinary(t, schema, new Uint8Array(0));
    for (let i = 0; i < 20; i++) {
      const bytes = toBinary(schema, create(schema, randomInit(r, schema, 0) as never));
      sameAsFromBinary(t, schema, bytes);
      sameAsFromBinary(t, schema, Buffer.from(bytes)); // as the hops hand it over: a Buffer
    }
  }
});

for (const syntax of ["proto3", "proto2"] as const) {
  test(`${syntax} kitchen sink, filled at random: fromBinary's message`, (t) => {
    const schema = kitchenSink(syntax);
    const r = rng(syntax === "proto3" ? 12 : 13);
    for (let i = 0; i < 300; i++) {
      const init = randomInit(r, schema, 0);
      if (syntax === "proto2") init.req = pick(r, INT32S);
      sameAsFromBinary(t, schema, toBinary(schema, create(schema, init as never)));
    }
  });
}

test("corrupted and truncated bytes: fromBinary's message or its error", async (t) => {
  const r = rng(14);
  const schemas = [kitchenSink("proto3"), ...(await generatedMessages()).filter((s) => s.typeName.startsWith("faas."))];
  for (let i = 0; i < 3000; i++) {
    const schema = pick(r, schemas);
    const bytes = toBinary(schema, create(schema, randomInit(r, schema, 0) as never));
    if (bytes.length === 0) continue;
    const bad = new Uint8Array(bytes);
    if (r() < 0.5) {
      for (let k = 0; k < 1 + r() * 3; k++) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      sameAsFromBinary(t, schema, bad);
    } else sameAsFromBinary(t, schema, bad.subarray(0, Math.floor(r() * bad.length)));
  }
});

test("encodings toBinary does not make: packed and unpacked mixed, fields out of order, repeats, unknown fields, invalid UTF-8, deep nesting", (t) => {
  const schema = kitchenSink("proto3");
  const field = (no: number, wire: number) => (no << 3) | wire;
  const cases: number[][] = [
    [field(104, 0), 5, field(104, 2), 2, 6, 7, field(104, 0), 8], // int32 list: unpacked, packed, unpacked
    [field(5, 0), 1, field(1, 1), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f], // int32 before double
    [field(5, 0), 1, field(5, 0), 2], // a scalar twice: the last wins
    [field(60, 2), 2, field(5, 0), 1, field(60, 2), 2, field(1, 1)], // a message twice: merged by fromBinary (here truncated)
    [field(60, 2), 2, field(5, 0), 1, field(60, 2), 2, field(13, 0), 3], // a message twice, merged
    [field(309, 2), 1, 0x41, field(305, 0), 7], // a oneof: string then int32
    [field(999, 0), 1], // unknown field
    [field(9, 2), 2, 0xc3, 0x28], // invalid UTF-8
    [field(9, 2), 3, 0xed, 0xa0, 0x80], // an encoded lone surrogate
    [field(5, 2), 1, 1], // int32 with the wrong wire type
    [field(70, 2), 4, field(1, 2), 1, 0x6b, field(3, 0), 1], // a map entry with an unknown field
    [field(70, 2), 0], // an empty map entry: "" → ""
    [field(71, 2), 3, field(1, 2), 1, 0x6b], // a message-valued map entry without its value
    [field(5, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // a negative int32, ten bytes
    [field(5, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // an eleven-byte varint
    [field(3, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], // an endless varint
  ];
  for (const c of cases) sameAsFromBinary(t, schema, new Uint8Array(c));

  // Nesting past fromBinary's recursion limit (100) is its error; just under it, its message.
  for (const depth of [99, 101]) {
    let m = create(schema, { sInt32: 1 } as never);
    for (let i = 0; i < depth; i++) m = create(schema, { child: m } as never);
    sameAsFromBinary(t, schema, toBinary(schema, m));
  }
});
