// Comparing a presented secret with the expected one in constant time: both are hashed first, so the
// comparison neither leaks the length nor depends on where the first difference is.
import { createHash, timingSafeEqual } from "node:crypto";

/** A check of presented values against this secret (anything but one string is refused). */
export function secretChecker(secret: string): (presented: string | string[] | undefined) => boolean {
  const expected = sha256(secret);
  return (presented) => typeof presented === "string" && timingSafeEqual(sha256(presented), expected);
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
