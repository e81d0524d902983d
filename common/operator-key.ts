// The operator key (gateway's AdminService, and its view of every tenant's functions): given in GATEWAY_OPERATOR_KEY, or kept in a file (mode 0600) that the gateway creates
// with a random key on its first start, the way a database prints its first admin password once.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const MIN_OPERATOR_KEY_LENGTH = 16;

/** The key to use; with create false (a service that only calls the gateway), a missing file is an error. */
export function resolveOperatorKey(given: string, file: string, create = true): { key: string; source: "env" | "file" | "created" } {
  if (given) {
    if (given.length < MIN_OPERATOR_KEY_LENGTH) throw new Error(`GATEWAY_OPERATOR_KEY must have at least ${MIN_OPERATOR_KEY_LENGTH} characters`);
    return { key: given, source: "env" };
  }
  try {
    const key = fs.readFileSync(file, "utf8").trim();
    if (key.length < MIN_OPERATOR_KEY_LENGTH) throw new Error(`${file} holds no operator key of at least ${MIN_OPERATOR_KEY_LENGTH} characters`);
    return { key, source: "file" };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw err;
  }
  const key = `faas_operator_${randomBytes(32).toString("base64url")}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  return { key, source: "created" };
}
