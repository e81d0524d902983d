// Prints the configuration of every process as Markdown tables, for the README (`node dist/scripts/config-docs.js`).
// A unit test checks that the README holds exactly these tables, so the documentation cannot drift.
import { describeConfig, type Schema } from "../common/config.js";
import { balancerSchema } from "../services/balancer/config.js";
import { gatewaySchema } from "../services/gateway/config.js";
import { nodeManagerSchema } from "../services/node-manager/config.js";
import { traceStoreSchema } from "../services/trace-store/config.js";
import { zygoteBuilderSchema } from "../services/zygote-builder/config.js";
import { sidecarSchema } from "../sidecar/config.js";

export const CONFIG_SCHEMAS: ReadonlyArray<readonly [string, Schema]> = [
  ["gateway", gatewaySchema],
  ["balancer", balancerSchema],
  ["node-manager", nodeManagerSchema],
  ["zygote-builder", zygoteBuilderSchema],
  ["trace-store", traceStoreSchema],
  ["sidecar (set by node-manager inside each container)", sidecarSchema],
];

export function configDocs(): string {
  return CONFIG_SCHEMAS.map(([name, schema]) => `#### ${name}\n\n${describeConfig(schema)}\n`).join("\n");
}

if (process.argv[1]?.endsWith("config-docs.js")) process.stdout.write(configDocs());
