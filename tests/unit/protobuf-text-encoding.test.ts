// The Node text encoding protobuf-es is given in every service (common/protobuf-text-encoding.ts) must
// write and read the same bytes and strings as protobuf-es's own TextEncoder/TextDecoder one.
import test from "ava";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { InvokeRequestSchema } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { FunctionRefSchema, LimitsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { NODE_TEXT_ENCODING, useNodeTextEncoding } from "../../common/protobuf-text-encoding.js";

// Captured before any test could configure the process's encoding.
const standard = getTextEncoding();

const STRINGS = ["", "noop", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "héllo wörld", "日本語のテキスト", "emoji 🚀 and 𝄞", "lone \ud800 surrogate", "x".repeat(10_000)];

test.serial("strings encode to the same bytes as with TextEncoder, lone surrogates included", (t) => {
  for (const s of STRINGS) t.deepEqual(new Uint8Array(NODE_TEXT_ENCODING.encodeUtf8(s)), standard.encodeUtf8(s), JSON.stringify(s.slice(0, 40)));
});

test.serial("bytes decode to the same strings as with TextDecoder, malformed ones too; strict decoding still refuses them", (t) => {
  const malformed = [new Uint8Array([0xff, 0xfe, 0x41]), new Uint8Array([0xe6, 0x97]), new Uint8Array([0xc0, 0x80])];
  for (const s of STRINGS) {
    const bytes = standard.encodeUtf8(s);
    t.is(NODE_TEXT_ENCODING.decodeUtf8(bytes), standard.decodeUtf8(bytes));
    t.is(NODE_TEXT_ENCODING.decodeUtf8(bytes, true), s.includes("\ud800") ? standard.decodeUtf8(bytes, true) : s);
  }
  for (const b of malformed) {
    t.is(NODE_TEXT_ENCODING.decodeUtf8(b), standard.decodeUtf8(b));
    t.throws(() => NODE_TEXT_ENCODING.decodeUtf8(b, true));
  }
  // A view into a larger buffer decodes only its own bytes.
  const whole = standard.encodeUtf8("abcdéfgh");
  t.is(NODE_TEXT_ENCODING.decodeUtf8(whole.subarray(2, 6)), standard.decodeUtf8(whole.subarray(2, 6)));
});

test.serial("once configured, toBinary writes the same bytes and fromBinary reads the same message", (t) => {
  const message = create(InvokeRequestSchema, {
    invocationId: "0123456789abcdef0123456789abcdef",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    function: create(FunctionRefSchema, { name: "tenant-ä_fn", digest: "sha256:00ff", tenant: "tenant-ä", limits: create(LimitsSchema, { memoryMb: 256, timeoutMs: 60_000 }) }),
    payload: new TextEncoder().encode('{"text":"日本"}'),
  });
  const withStandard = toBinary(InvokeRequestSchema, message);
  // Global to this process (ava runs each test file in its own): the other tests compare against `standard`.
  useNodeTextEncoding();
  t.is(getTextEncoding(), NODE_TEXT_ENCODING);
  t.deepEqual(toBinary(InvokeRequestSchema, message), withStandard);
  t.deepEqual(fromBinary(InvokeRequestSchema, withStandard), message);
});
