// Invocation payloads (InvokeRequest.payload: JSON bytes passed to main()): valid ones, and the bad ones
// the gateway must refuse or the function must survive: invalid JSON, invalid UTF-8, deep nesting, huge.
import type { Rng } from "./rng.js";

export interface Payload {
  readonly kind: string;
  readonly bytes: Buffer;
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

const deepCache = new Map<string, Buffer>();

/** `depth` nested arrays or objects: JSON parsers that recurse overflow their stack on these. (Cached: read-only.) */
export function deepJson(depth: number, shape: "array" | "object", closed = true): Buffer {
  const key = `${depth}:${shape}:${closed}`;
  let out = deepCache.get(key);
  if (!out) {
    out = shape === "array" ? utf8("[".repeat(depth) + (closed ? "]".repeat(depth) : "")) : utf8('{"a":'.repeat(depth) + "1" + (closed ? "}".repeat(depth) : ""));
    deepCache.set(key, out);
  }
  return out;
}

let filler: Buffer | undefined;

/** {"s":"xxx…"} of exactly `size` bytes (at least 8), from one shared buffer of filler. */
function bigObject(size: number): Buffer {
  const n = Math.max(0, size - 8);
  if (!filler || filler.length < n) filler = Buffer.alloc(Math.max(n, 2 << 20), 0x78);
  return Buffer.concat([utf8('{"s":"'), filler.subarray(0, n), utf8('"}')]);
}

function randomJsonValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 3 ? 3 : 5)) {
    case 0:
      return rng.int(-1e6, 1e6);
    case 1:
      return rng.ascii(rng.length(40));
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4:
      return Array.from({ length: rng.int(0, 4) }, () => randomJsonValue(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [rng.ascii(rng.int(0, 8)), randomJsonValue(rng, depth + 1)]));
  }
}

const INVALID_JSON = ["{oops", "[1,2", '{"a":}', "{'a':1}", "NaN", "undefined", "[1,]", '{"a":1,}', "01", "-", '"unterminated', "\u0000", "}{", "1 2", "/* c */ {}", "{\"a\":1}garbage", "tru", "0x10", "Infinity"];
const EDGE_JSON = ["null", "0", "-0", "1e999999", "123456789012345678901234567890", '""', '"\\ud800"', '"\\u0000"', "[]", "true", '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '{"a":1,"a":2}', "\ufeff{}", " \n\t{} \n"];
const INVALID_UTF8 = [
  [0x22, 0xff, 0xfe, 0x22],
  [0x22, 0xc0, 0x80, 0x22], // over-long NUL
  [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate
  [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d], // truncated sequence inside an object
  [0x80],
];

export function payload(rng: Rng, maxPayloadBytes: number): Payload {
  const kind = rng.weighted<string>([
    ["valid", 40],
    ["empty", 6],
    ["edge", 10],
    ["invalid-json", 14],
    ["invalid-utf8", 8],
    ["random-bytes", 8],
    ["deep", 3],
    ["huge-valid", 0.5],
    ["huge-over", 1],
  ]);
  switch (kind) {
    case "valid":
      return { kind, bytes: utf8(JSON.stringify(randomJsonValue(rng))) };
    case "empty":
      return { kind, bytes: Buffer.alloc(0) };
    case "edge":
      return { kind, bytes: utf8(rng.pick(EDGE_JSON)) };
    case "invalid-json":
      return { kind, bytes: utf8(rng.pick(INVALID_JSON)) };
    case "invalid-utf8":
      return { kind, bytes: Buffer.from(rng.pick(INVALID_UTF8)) };
    case "random-bytes":
      return { kind, bytes: rng.bytes(rng.length(512)) };
    case "deep": {
      // 100k levels fit in a 1 MiB payload as arrays (200 KB) and as objects (~600 KB).
      const depth = rng.pick([1_000, 10_000, 100_000]);
      const shape = rng.pick(["array", "object"] as const);
      return { kind: `deep-${shape}-${depth}`, bytes: deepJson(depth, shape, rng.chance(0.9)) };
    }
    case "huge-valid":
      return { kind, bytes: bigObject(maxPayloadBytes - rng.int(0, 1024)) };
    default:
      return { kind, bytes: bigObject(maxPayloadBytes + rng.int(1, 64 * 1024)) };
  }
}
