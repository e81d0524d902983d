// Identifiers. Invocation ids sort by creation time (48-bit ms timestamp + 80 random bits, hex),
// which keeps trace-store's primary-key inserts append-mostly.
import { randomFillSync } from "node:crypto";

// One call into the CSPRNG per 4 KiB instead of one per id: on the invocation path, a randomBytes() call
// each cost more than the rest of making the id.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return hex;
}

export function newInvocationId(now = Date.now()): string {
  return now.toString(16).padStart(12, "0") + randomHex(10);
}

export function shortId(bytes = 6): string {
  return randomHex(bytes);
}
