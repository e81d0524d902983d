// Checks a deploy request and resolves its defaults. Pure: the gateway turns a ValidationError into
// INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for size bounds) naming the field at fault; what the operator has
// not allowed (host networking) is a NotAllowedError, FAILED_PRECONDITION. A code archive is unpacked into
// files here (code-archive.ts), so nothing after validation ever sees one.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { functionDigest } from "../../common/function-digest.js";
import { FunctionCodeSchema, FunctionSpecSchema, LimitsSchema, type FunctionCode, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { CodeArchiveError, unpackCodeArchive } from "./code-archive.js";

export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** A size bound rather than a malformed value. */
    readonly tooLarge = false,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The answer to a ValidationError: INVALID_ARGUMENT, or RESOURCE_EXHAUSTED for a size bound; anything else as it is. */
export function asConnectError(err: unknown): ConnectError {
  if (err instanceof ValidationError) return new ConnectError(err.message, err.tooLarge ? Code.ResourceExhausted : Code.InvalidArgument);
  return ConnectError.from(err);
}

/** Runs a check, answering its ValidationError as asConnectError does. */
export function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw asConnectError(err);
  }
}

/** A valid request the operator's settings refuse: FAILED_PRECONDITION, whoever asks. */
export class NotAllowedError extends ConnectError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`, Code.FailedPrecondition);
  }
}

/** OpenWhisk's defaults: 256 MB, 60 s, one activation per container at a time. */
export const DEFAULT_LIMITS = { memoryMb: 256, timeoutMs: 60_000, maxConcurrency: 1, workers: 1 } as const;
export const LIMIT_BOUNDS = {
  memoryMb: { min: 64, max: 8192 },
  timeoutMs: { min: 1, max: 900_000 },
  maxConcurrency: { min: 1, max: 1000 },
  workers: { min: 1, max: 16 },
} as const;
export const RUNTIMES = ["nodejs20"] as const;

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// npm's rules for new package names: lower case, URL-safe, optionally scoped.
const PACKAGE = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
// An exact semantic version: ranges, tags and URLs would make an image depend on the day it was built.
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_FILES = 2000;
const MAX_DEPENDENCIES = 200;
const MAX_ENV_BYTES = 64 * 1024;

export interface DeployBounds {
  /** Sum of the code files' sizes; also the largest code archive, compressed and unpacked. */
  readonly maxCodeBytes: number;
  /** The operator's ALLOW_HOST_NETWORK: absent or false refuses functions that ask for the host's network. */
  readonly allowHostNetwork?: boolean;
}

/** A deployable function: the spec as stored (defaults resolved, digest set) and its code. */
export interface ValidatedFunction {
  readonly spec: FunctionSpec;
  readonly code: FunctionCode;
}

export function validateFunctionName(name: string, field = "name"): string {
  if (!name) throw new ValidationError(field, "is required");
  if (!NAME.test(name)) throw new ValidationError(field, `${JSON.stringify(name.slice(0, 80))} is not a valid function name (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)`);
  return name;
}

/** A relative '/'-separated path that stays inside the function's directory. */
export function checkCodePath(p: string): void {
  const field = `code.files[${JSON.stringify(p.slice(0, 200))}]`;
  if (p.length === 0 || p.length > 1024) throw new ValidationError(field, "path must have 1-1024 characters");
  if (p.includes("\0") || p.includes("\\")) throw new ValidationError(field, "path must not contain NUL or '\\'");
  if (p.startsWith("/")) throw new ValidationError(field, "path must be relative");
  for (const segment of p.split("/")) {
    if (segment === "" || segment === "." || segment === "..") throw new ValidationError(field, "path must not have empty, '.' or '..' segments");
  }
  if (p === "node_modules" || p.startsWith("node_modules/")) throw new ValidationError(field, "node_modules is installed by the platform from spec.dependencies; do not upload it");
}

/** A batching window longer than this would hold invocations longer than most functions run. */
export const MAX_BATCH_WINDOW_MS = 10_000;

function validateBatchWindow(ms: number): number {
  if (ms > MAX_BATCH_WINDOW_MS) throw new ValidationError("spec.batch_window_ms", `must be at most ${MAX_BATCH_WINDOW_MS}, got ${ms}`);
  return ms;
}

function resolveLimit(field: keyof typeof DEFAULT_LIMITS, value: number): number {
  if (value === 0) return DEFAULT_LIMITS[field];
  const { min, max } = LIMIT_BOUNDS[field];
  if (value < min || value > max) throw new ValidationError(`spec.limits.${field}`, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function validateDeploy(spec: FunctionSpec | undefined, code: FunctionCode | undefined, bounds: DeployBounds, nowUs: bigint): ValidatedFunction {
  if (!spec) throw new ValidationError("spec", "is required");
  const name = validateFunctionName(spec.name, "spec.name");
  const runtime = spec.runtime || "nodejs20";
  if (!(RUNTIMES as readonly string[]).includes(runtime)) throw new ValidationError("spec.runtime", `must be one of ${RUNTIMES.join(", ")}, got ${JSON.stringify(runtime.slice(0, 40))}`);

  if (spec.hostNetwork && !bounds.allowHostNetwork) {
    throw new NotAllowedError("spec.host_network", "this platform's operator does not allow functions on the host's network (gateway ALLOW_HOST_NETWORK is off)");
  }

  code = unpackArchive(code, bounds);
  const files = code?.files ?? {};
  const paths = Object.keys(files);
  if (paths.length > MAX_FILES) throw new ValidationError("code.files", `at most ${MAX_FILES} files, got ${paths.length}`, true);
  let codeBytes = 0;
  for (const p of paths) {
    checkCodePath(p);
    codeBytes += files[p].length;
  }
  if (codeBytes > bounds.maxCodeBytes) throw new ValidationError("code.files", `code is ${codeBytes} bytes, over the limit of ${bounds.maxCodeBytes}`, true);

  const entry = spec.entry || "index.js";
  checkCodePath(entry);
  if (!(entry in files)) throw new ValidationError("spec.entry", `${JSON.stringify(entry)} is not among the code files`);

  const deps = Object.entries(spec.dependencies);
  if (deps.length > MAX_DEPENDENCIES) throw new ValidationError("spec.dependencies", `at most ${MAX_DEPENDENCIES}, got ${deps.length}`, true);
  for (const [pkg, version] of deps) {
    if (!PACKAGE.test(pkg) || pkg.length > 214) throw new ValidationError(`spec.dependencies[${JSON.stringify(pkg.slice(0, 80))}]`, "is not a valid npm package name");
    if (!EXACT_VERSION.test(version)) {
      throw new ValidationError(`spec.dependencies[${JSON.stringify(pkg)}]`, `must be pinned to an exact version like "1.2.3", got ${JSON.stringify(version.slice(0, 80))}`);
    }
  }

  let envBytes = 0;
  for (const [key, value] of Object.entries(spec.env)) {
    if (!ENV_KEY.test(key)) throw new ValidationError(`spec.env[${JSON.stringify(key.slice(0, 80))}]`, "is not a valid environment variable name");
    if (key.startsWith("FAAS_")) throw new ValidationError(`spec.env[${JSON.stringify(key)}]`, "the FAAS_ prefix is reserved for the platform");
    if (value.includes("\0")) throw new ValidationError(`spec.env[${JSON.stringify(key)}]`, "must not contain NUL");
    envBytes += key.length + value.length;
  }
  if (envBytes > MAX_ENV_BYTES) throw new ValidationError("spec.env", `is ${envBytes} bytes, over ${MAX_ENV_BYTES}`, true);

  const limits = create(LimitsSchema, {
    memoryMb: resolveLimit("memoryMb", spec.limits?.memoryMb ?? 0),
    timeoutMs: resolveLimit("timeoutMs", spec.limits?.timeoutMs ?? 0),
    maxConcurrency: resolveLimit("maxConcurrency", spec.limits?.maxConcurrency ?? 0),
    workers: resolveLimit("workers", spec.limits?.workers ?? 0),
  });
  const resolved = create(FunctionSpecSchema, {
    name,
    runtime,
    entry,
    dependencies: { ...spec.dependencies },
    limits,
    env: { ...spec.env },
    createdAtUnixUs: nowUs,
    pure: spec.pure,
    batchWindowMs: validateBatchWindow(spec.batchWindowMs),
    hostNetwork: spec.hostNetwork,
  });
  const validatedCode = code ?? create(FunctionCodeSchema);
  resolved.digest = functionDigest(resolved, validatedCode);
  return { spec: resolved, code: validatedCode };
}

/** code with its archive (if any) unpacked into files; both at once are refused. */
function unpackArchive(code: FunctionCode | undefined, bounds: DeployBounds): FunctionCode | undefined {
  if (!code || code.archive.length === 0) return code;
  if (Object.keys(code.files).length > 0) throw new ValidationError("code", "give either files or an archive, not both");
  try {
    const files = unpackCodeArchive(code.archive, { maxArchiveBytes: bounds.maxCodeBytes, maxUnpackedBytes: bounds.maxCodeBytes });
    return create(FunctionCodeSchema, { files });
  } catch (err) {
    if (err instanceof CodeArchiveError) throw new ValidationError("code.archive", err.message, err.tooLarge);
    throw err;
  }
}
