// Reads a function from a directory into a deploy request: its files (without node_modules), and its
// spec from package.json: exact-pinned "dependencies", and an optional "faas" block with
// { name, entry, memoryMb, timeoutMs, maxConcurrency, workers, env, pure, batchWindowMs }. The directory's name is the default name.
import * as fs from "node:fs";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { FunctionCodeSchema, FunctionSpecSchema, LimitsSchema } from "../gen/faas/common/v1/common_pb.js";
import { DeployFunctionRequestSchema, type DeployFunctionRequest } from "../gen/faas/gateway/v1/gateway_pb.js";

const SKIPPED = new Set(["node_modules", ".git", ".DS_Store"]);

interface FaasBlock {
  name?: string;
  entry?: string;
  memoryMb?: number;
  timeoutMs?: number;
  maxConcurrency?: number;
  workers?: number;
  env?: Record<string, string>;
  /** main() depends on its params only: identical payloads in one batch run once. */
  pure?: boolean;
  /** The function's batching window, ms (0: the balancer's). */
  batchWindowMs?: number;
}

export function readFunctionDir(dir: string, overrides: FaasBlock = {}): DeployFunctionRequest {
  const files: Record<string, Uint8Array> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files[child] = fs.readFileSync(path.join(dir, child));
    }
  };
  walk("");
  let pkg: { dependencies?: Record<string, string>; faas?: FaasBlock } = {};
  if (files["package.json"]) pkg = JSON.parse(Buffer.from(files["package.json"]).toString("utf8"));
  const faas = { ...pkg.faas, ...overrides };
  return create(DeployFunctionRequestSchema, {
    spec: create(FunctionSpecSchema, {
      name: faas.name ?? path.basename(path.resolve(dir)),
      runtime: "nodejs20",
      entry: faas.entry ?? "index.js",
      dependencies: pkg.dependencies ?? {},
      env: faas.env ?? {},
      pure: faas.pure ?? false,
      batchWindowMs: faas.batchWindowMs ?? 0,
      limits: create(LimitsSchema, { memoryMb: faas.memoryMb ?? 0, timeoutMs: faas.timeoutMs ?? 0, maxConcurrency: faas.maxConcurrency ?? 0, workers: faas.workers ?? 0 }),
    }),
    code: create(FunctionCodeSchema, { files }),
  });
}
