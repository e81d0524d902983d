// Identifiers. Invocation ids sort by creation time (48-bit ms timestamp + 80 random bits, hex),
// which keeps trace-store's primary-key inserts append-mostly.
import { randomBytes } from "node:crypto";

export function newInvocationId(now = Date.now()): string {
  return now.toString(16).padStart(12, "0") + randomBytes(10).toString("hex");
}

export function shortId(bytes = 6): string {
  return randomBytes(bytes).toString("hex");
}
