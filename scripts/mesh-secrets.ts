// Compose's first step (service mesh-secrets): makes the mesh's two secrets in a shared volume unless they
// are there already, so that `docker compose up` needs no configuration and still publishes no known key.
//   internal.secret  FAAS_INTERNAL_SECRET_FILE of every service: the internal services bind 0.0.0.0 in compose
//   operator.key     GATEWAY_OPERATOR_KEY_FILE of gateway and zygote-builder (read it with
//                    `docker compose exec gateway cat /secrets/operator.key`)
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveOperatorKey } from "../common/operator-key.js";

const dir = process.argv[2] ?? "/secrets";
fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
const secretFile = path.join(dir, "internal.secret");
try {
  fs.writeFileSync(secretFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  console.log(`created ${secretFile}`);
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
}
const operator = resolveOperatorKey("", path.join(dir, "operator.key"));
console.log(`${operator.source === "created" ? "created" : "kept"} ${path.join(dir, "operator.key")}`);
