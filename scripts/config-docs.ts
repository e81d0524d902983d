// Prints the configuration of every process as Markdown tables, for the README (`node dist/scripts/config-docs.js`).
// A unit test checks that the README holds exactly these tables, so the documentation cannot drift.
import * as fs from "node:fs";
import * as path from "node:path";
import { describeConfig, type Schema } from "../common/config.js";
import { balancerSchema } from "../services/balancer/config.js";
import { gatewaySchema } from "../services/gateway/config.js";
import { nodeManagerSchema } from "../services/node-manager/config.js";
import { traceStoreSchema } from "../services/trace-store/config.js";
import { zygoteBuilderSchema } from "../services/zygote-builder/config.js";
import { sidecarSchema } from "../sidecar/config.js";
import { tracingSchema } from "../common/tracing-config.js";
import { REPO_ROOT } from "./local-mesh.js";

export const CONFIG_SCHEMAS: ReadonlyArray<readonly [string, Schema]> = [
  ["gateway", gatewaySchema],
  ["balancer", balancerSchema],
  ["node-manager", nodeManagerSchema],
  ["zygote-builder", zygoteBuilderSchema],
  ["trace-store", traceStoreSchema],
  ["sidecar (set by node-manager inside each container)", sidecarSchema],
  ["tracing (every service; the standard OpenTelemetry variables)", tracingSchema],
];

export function configDocs(): string {
  return CONFIG_SCHEMAS.map(([name, schema]) => `#### ${name}\n\n${describeConfig(schema)}\n`).join("\n");
}

const START = "<!-- config:start -->\n";
const END = "<!-- config:end -->";

/** The README with its configuration section replaced by the generated one. */
export function withConfigDocs(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error("README.md lacks the config:start/config:end markers");
  return readme.slice(0, a + START.length) + configDocs() + readme.slice(b);
}

if (process.argv[1]?.endsWith("config-docs.js")) {
  if (process.argv.includes("--write-readme")) {
    const file = path.join(REPO_ROOT, "README.md");
    fs.writeFileSync(file, withConfigDocs(fs.readFileSync(file, "utf8")));
  } else process.stdout.write(configDocs());
}
