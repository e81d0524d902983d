// API keys: "faas_<key id>_<secret>". The id (public, 16 hex digits) finds the key; only the SHA-256 of
// the secret is stored. The secret is 256 random bits, so a fast unsalted hash is enough: there is no
// dictionary to try (as with GitHub's and Stripe's tokens), and checking a key costs about a microsecond.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "faas_";
const KEY = /^faas_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** The whole key: shown to its holder once. */
  readonly key: string;
  readonly keyId: string;
  readonly secretHash: Buffer;
}

export function newApiKey(): NewApiKey {
  const keyId = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { key: `${PREFIX}${keyId}_${secret}`, keyId, secretHash: hashSecret(secret) };
}

/** The id and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  const m = KEY.exec(key);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const h = hashSecret(secret);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}

/** The key in `authorization: Bearer <key>` (gRPC metadata or HTTP header); undefined when absent. */
export function bearerToken(headers: Headers): string | undefined {
  const value = headers.get("authorization");
  if (value === null) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(value);
  return m ? m[1] : "";
}
