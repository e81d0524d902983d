// common/protobuf-binary-encoder.ts must write exactly toBinary's bytes, and throw toBinary's errors, for
// every message it is given: every message type of our contracts (and the OTLP ones) filled at random,
// and two test files made here that hold every scalar type in every position proto2 and proto3 allow.
import test, { type ExecutionContext } from "ava";
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { encodeEnvelope, encodeMessage } from "../../common/protobuf-binary-encoder.js";
import { generatedMessages, INT32S, kitchenSink, LONG_ASCII, pick, randomInit, rng } from "../helpers/random-messages.js";

/** Where two byte strings first differ, for the failure message (deepEqual on megabytes is slow). */
function firstDifference(a: Uint8Array, b: Uint8Array): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `lengths ${a.length} and ${b.length}, first difference at byte ${i}`;
}

function sameAsToBinary<D extends DescMessage>(t: ExecutionContext, schema: D, message: MessageShape<D>): void {
  const expected = toBinary(schema, message);
  const bytes = encodeMessage(schema, message);
  if (Buffer.compare(bytes, expected) !== 0) t.fail(`${schema.typeName}: ${firstDifference(bytes, expected)}`);
  const frame = encodeEnvelope(schema, message);
  if (frame[0] !== 0 || frame.readUInt32BE(1) !== expected.length || Buffer.compare(frame.subarray(5), expected) !== 0) t.fail(`${schema.typeName} envelope: ${firstDifference(frame.subarray(5), expected)}`);
  t.pass();
}


test("every generated message type, filled at random: toBinary's bytes", async (t) => {
  const schemas = await generatedMessages();
  t.true(schemas.length > 100, `found ${schemas.length} message types`);
  const r = rng(1);
  for (const schema of schemas) {
    sameAsToBinary(t, schema, create(schema));
    for (let i = 0; i < 20; i++) sameAsToBinary(t, schema, create(schema, randomInit(r, schema, 0) as never));
  }
});

for (const syntax of ["proto2", "proto3"] as const) {
  test(`${syntax}: every scalar type in every position, filled at random: toBinary's bytes`, (t) => {
    const schema = kitchenSink(syntax);
    const r = rng(syntax === "proto2" ? 2 : 3);
    for (let i = 0; i < 400; i++) {
      const init = randomInit(r, schema, 0);
      if (syntax === "proto2") init.req = pick(r, INT32S);
      sameAsToBinary(t, schema, create(schema, init as never));
    }
  });
}

test("unknown fields are written after the known ones, as toBinary does", (t) => {
  const schema = kitchenSink("proto3");
  const m = create(schema, { sInt32: 7 } as never) as MessageShape<DescMessage> & { $unknown?: unknown };
  m.$unknown = [
    { no: 999, wireType: 0, data: new Uint8Array([0x96, 0x01]) },
    { no: 1000, wireType: 2, data: new Uint8Array([3, 1, 2, 3]) },
  ];
  sameAsToBinary(t, schema, m);
});

test("values toBinary converts or refuses: its bytes, or its error", (t) => {
  const schema = kitchenSink("proto3");
  const converted = create(schema) as Record<string, unknown>;
  converted.sInt32 = "42"; // protobuf-es accepts a numeric string for a 32-bit field
  converted.sInt64 = "-5"; // and a string or number for a 64-bit one
  converted.sUint64 = 12;
  sameAsToBinary(t, schema, converted as never);

  const refusals: Record<string, unknown>[] = [{ sInt32: 2 ** 40 }, { sUint32: -1 }, { sFloat: 1e39 }, { sInt32: 1.5 }, { packedSfixed32: [1, 2 ** 33] }];
  for (const bad of refusals) {
    const m = Object.assign(create(schema), bad);
    const expected = t.throws(() => toBinary(schema, m as never));
    t.throws(() => encodeMessage(schema, m as never), { message: expected!.message });
    t.throws(() => encodeEnvelope(schema, m as never), { message: expected!.message });
  }

  const proto2 = kitchenSink("proto2");
  const missing = create(proto2);
  const expected = t.throws(() => toBinary(proto2, missing));
  t.throws(() => encodeMessage(proto2, missing), { message: expected!.message });

  // A nested message of another type: whatever toBinary makes of it (it writes what the field's type sees).
  sameAsToBinary(t, schema, create(schema, { child: create(proto2, { req: 1 } as never) } as never));
});

test("a message larger than the scratch buffer, and the one after it", (t) => {
  const schema = kitchenSink("proto3");
  const big = create(schema, { sBytes: new Uint8Array(3 * 1024 * 1024).fill(7), children: [create(schema, { sString: LONG_ASCII } as never)] } as never);
  sameAsToBinary(t, schema, big);
  sameAsToBinary(t, schema, create(schema, { sString: "after" } as never));
});
