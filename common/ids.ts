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

/** Whether s has an invocation id's form (32 lower-case hex digits), as callers must send it back. */
export function isInvocationId(s: string): boolean {
  return INVOCATION_ID.test(s);
}

const INVOCATION_ID = /^[0-9a-f]{32}$/;

export function shortId(bytes = 6): string {
  return randomHex(bytes);
}
