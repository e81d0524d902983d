// Reads a function from a directory into a deploy request: its files (without node_modules), and its
// spec from package.json: exact-pinned "dependencies", and an optional "faas" block with
// { name, entry, memoryMb, timeoutMs, maxConcurrency, workers, env, pure, batchWindowMs, hostNetwork }. The directory's name is the default name.
// readFunctionArchive does the same for a .tar/.tar.gz of such a directory, sent as one archive that the
// gateway unpacks (and checks) itself.
import * as fs from "node:fs";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { FunctionCodeSchema, FunctionSpecSchema, LimitsSchema, type FunctionCode } from "../gen/faas/common/v1/common_pb.js";
import { DeployFunctionRequestSchema, type DeployFunctionRequest } from "../gen/faas/gateway/v1/gateway_pb.js";
import { unpackCodeArchive } from "../services/gateway/code-archive.js";

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
  /** Run on the host's network (the operator must allow it). */
  hostNetwork?: boolean;
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
  return deployRequest(files, path.basename(path.resolve(dir)), overrides, create(FunctionCodeSchema, { files }));
}

/** Archives as big as this are the gateway's to refuse; the client only reads package.json out of it. */
const CLIENT_ARCHIVE_BOUND = 1024 * 1024 * 1024;

/**
 * A deploy request for a .tar or .tar.gz of a function directory (made with `tar -czf f.tar.gz -C dir .`):
 * the spec from its package.json, the archive sent as it is. The default name is the file's, without extension.
 */
export function readFunctionArchive(file: string, overrides: FaasBlock = {}): DeployFunctionRequest {
  const archive = fs.readFileSync(file);
  const files = unpackCodeArchive(archive, { maxArchiveBytes: CLIENT_ARCHIVE_BOUND, maxUnpackedBytes: CLIENT_ARCHIVE_BOUND });
  const name = path.basename(file).replace(/\.(tar\.gz|tgz|tar)$/, "");
  return deployRequest(files, name, overrides, create(FunctionCodeSchema, { archive }));
}

function deployRequest(files: Record<string, Uint8Array>, defaultName: string, overrides: FaasBlock, code: FunctionCode): DeployFunctionRequest {
  let pkg: { dependencies?: Record<string, string>; faas?: FaasBlock } = {};
  if (files["package.json"]) pkg = JSON.parse(Buffer.from(files["package.json"]).toString("utf8"));
  const faas = { ...pkg.faas, ...overrides };
  return create(DeployFunctionRequestSchema, {
    spec: create(FunctionSpecSchema, {
      name: faas.name ?? defaultName,
      runtime: "nodejs20",
      entry: faas.entry ?? "index.js",
      dependencies: pkg.dependencies ?? {},
      env: faas.env ?? {},
      pure: faas.pure ?? false,
      batchWindowMs: faas.batchWindowMs ?? 0,
      hostNetwork: faas.hostNetwork ?? false,
      limits: create(LimitsSchema, { memoryMb: faas.memoryMb ?? 0, timeoutMs: faas.timeoutMs ?? 0, maxConcurrency: faas.maxConcurrency ?? 0, workers: faas.workers ?? 0 }),
    }),
    code,
  });
}
