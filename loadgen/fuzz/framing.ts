// gRPC's and gRPC-Web's length-prefixed messages, written by hand so they can lie: a compressed flag on
// an uncompressed message, a length longer or shorter than what follows, a header cut short, two
// messages for a unary call. And the reading side: the frames and trailers of an answer.
import { gzipSync } from "node:zlib";
import type { Rng } from "./rng.js";

/** flags (bit 0: compressed; 0x80: trailers in gRPC-Web), a 4-byte big-endian length, the message. */
export function frame(flags: number, message: Uint8Array, length = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags & 0xff;
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, message]);
}

export interface Framed {
  readonly body: Buffer;
  readonly kind: string;
  /** grpc-encoding to send with it (undefined: none). */
  readonly encoding?: string;
}

/** The message in an envelope: usually right, sometimes lying in one of the ways a peer could. */
export function envelopeFor(rng: Rng, message: Buffer, lie: boolean): Framed {
  if (!lie) return { body: frame(0, message), kind: "envelope" };
  const kind = rng.weighted<string>([
    ["compressed-flag", 3],
    ["odd-flags", 2],
    ["length-short", 3],
    ["length-long", 3],
    ["length-huge", 3],
    ["header-cut", 2],
    ["no-message", 2],
    ["two-messages", 2],
    ["trailing-bytes", 2],
    ["gzip", 2],
    ["gzip-garbage", 2],
    ["gzip-no-flag", 1],
    ["unknown-encoding", 2],
    ["trailer-frame", 1],
  ]);
  switch (kind) {
    case "compressed-flag":
      return { body: frame(1, message), kind };
    case "odd-flags":
      return { body: frame(rng.pick([2, 3, 0x7f, 0x81, 0xff]), message), kind };
    case "length-short":
      return { body: frame(0, message, Math.max(0, message.length - rng.int(1, 8))), kind };
    case "length-long":
      return { body: frame(0, message, message.length + rng.int(1, 64)), kind };
    case "length-huge":
      return { body: frame(0, message, rng.pick([0x7fffffff, 0xffffffff, 0x10000000, 0x00400001])), kind };
    case "header-cut":
      return { body: frame(0, message).subarray(0, rng.int(0, 4)), kind };
    case "no-message":
      return { body: Buffer.alloc(0), kind };
    case "two-messages":
      return { body: Buffer.concat([frame(0, message), frame(0, message)]), kind };
    case "trailing-bytes":
      return { body: Buffer.concat([frame(0, message), rng.bytes(rng.int(1, 4))]), kind };
    case "gzip":
      // A well-formed compressed call: must work like the plain one.
      return { body: frame(1, gzipSync(message)), kind, encoding: "gzip" };
    case "gzip-garbage":
      return { body: frame(1, rng.chance(0.5) ? rng.bytes(rng.int(0, 64)) : gzipSync(message).subarray(0, 12)), kind, encoding: "gzip" };
    case "gzip-no-flag":
      return { body: frame(0, message), kind, encoding: "gzip" };
    case "unknown-encoding":
      return { body: frame(1, message), kind, encoding: rng.pick(["snappy", "br2", "deflate", "x-unknown", "identity,gzip"]) };
    default:
      return { body: Buffer.concat([frame(0x80, Buffer.from("grpc-status: 0\r\n")), frame(0, message)]), kind };
  }
}

export interface ParsedFrames {
  readonly messages: Buffer[];
  /** gRPC-Web trailers (lower-case names), from a frame with flag 0x80. */
  readonly trailers: Record<string, string>;
  /** Bytes left that do not make a whole frame. */
  readonly leftover: number;
  readonly compressed: boolean;
}

export function parseFrames(body: Buffer): ParsedFrames {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let compressed = false;
  let pos = 0;
  while (body.length - pos >= 5) {
    const flags = body[pos];
    const length = body.readUInt32BE(pos + 1);
    if (body.length - pos - 5 < length) break;
    const content = body.subarray(pos + 5, pos + 5 + length);
    pos += 5 + length;
    if (flags & 0x80) {
      for (const line of content.toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
    } else {
      if (flags & 1) compressed = true;
      messages.push(content);
    }
  }
  return { messages, trailers, leftover: body.length - pos, compressed };
}
