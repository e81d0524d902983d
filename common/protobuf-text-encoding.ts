// protobuf-es turns every string field into bytes with TextEncoder.encode, which in Node 20 allocates a
// fresh ArrayBuffer per string: half of toBinary's time for a 200-byte InvokeRequest in a micro-benchmark,
// and every hop of an invocation encodes a few such messages. Buffer.from takes a small string's bytes
// from Node's pooled slab instead (the writer copies them into its output, so a pooled view is safe to
// hand it): `npm run bench:protobuf` has toBinary of that message 3x faster; in the mesh it is ~1% of the
// CPU per call (README, Architecture). tests/unit/protobuf-text-encoding.test.ts checks bytes and strings match.
// Decoding: Buffer's utf8 slice for the lenient case, protobuf-es's own fatal decoder for the strict
// one; the UTF-8 check is protobuf-es's own. Both encoders write U+FFFD for a lone surrogate and
// both decoders read malformed bytes as U+FFFD, so the wire bytes and decoded strings are the same.
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** What protobuf-es asks of a text encoding (its own type is not exported). */
export type TextEncoding = ReturnType<typeof getTextEncoding>;

/** protobuf-es's own encoding, taken before any is configured: its strict decoding and UTF-8 check are kept. */
const PROTOBUF_ES_DEFAULT = getTextEncoding();

export const NODE_TEXT_ENCODING: TextEncoding = {
  encodeUtf8(text: string) {
    // A string's Buffer is a view of an ArrayBuffer (the pool's or its own), never a SharedArrayBuffer.
    return Buffer.from(text, "utf8") as Uint8Array<ArrayBuffer>;
  },
  decodeUtf8(bytes, strict) {
    if (strict) return PROTOBUF_ES_DEFAULT.decodeUtf8(bytes, true);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  },
  checkUtf8: PROTOBUF_ES_DEFAULT.checkUtf8,
};

/** Makes protobuf-es use NODE_TEXT_ENCODING in this process (every writer and reader created from now on). */
export function useNodeTextEncoding(): void {
  configureTextEncoding(NODE_TEXT_ENCODING);
}
