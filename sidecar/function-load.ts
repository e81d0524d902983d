// What one worker loads: the function's code, entry, own environment and limits. The container's
// configured function comes from the sidecar's env; LoadFunction may name another one.
import * as path from "node:path";
import type { SidecarConfig } from "./config.js";

export interface FunctionLoad {
  readonly functionName: string;
  readonly codeDir: string;
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly maxConcurrency: number;
  /** Worker processes at most (1: one worker runs every invocation). */
  readonly workers: number;
}

/** A slow import should not be cut by a short function timeout: importing gets at least this long. */
export const MIN_LOAD_TIMEOUT_MS = 10_000;

export function loadTimeoutMs(load: FunctionLoad): number {
  return Math.max(load.timeoutMs, MIN_LOAD_TIMEOUT_MS);
}

export function configuredLoad(cfg: SidecarConfig): FunctionLoad {
  return {
    functionName: cfg.functionName,
    codeDir: cfg.codeDir,
    entry: cfg.entry,
    env: cfg.functionEnv,
    memoryMb: cfg.memoryMb,
    timeoutMs: cfg.timeoutMs,
    maxConcurrency: cfg.maxConcurrency,
    workers: cfg.workers,
  };
}

/** The absolute entry module path, or an error message when the entry leaves the code directory. */
export function resolveEntry(load: FunctionLoad): { path: string } | { error: string } {
  const codeDir = path.resolve(load.codeDir);
  const entryPath = path.resolve(codeDir, load.entry);
  if (entryPath !== codeDir && !entryPath.startsWith(codeDir + path.sep)) {
    return { error: `entry ${JSON.stringify(load.entry)} is outside the code directory ${codeDir}` };
  }
  return { path: entryPath };
}

const WORKER_BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", NODE_ENV: "production" };

/**
 * The worker's whole environment: a minimal PATH/HOME/NODE_ENV and the function's own variables, never
 * the sidecar's FAAS_* settings. NODE_OPTIONS is dropped: the sidecar sets the worker's Node flags
 * (its heap limit is how memory exhaustion is caught).
 */
export function workerEnv(load: FunctionLoad): Record<string, string> {
  const env: Record<string, string> = { ...WORKER_BASE_ENV, ...load.env };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * The environment of a worker with its own writable directory: HOME and TMPDIR point there whatever the
 * function's env says, so os.tmpdir() and os.homedir() never lead into a directory shared with another uid.
 */
export function isolatedWorkerEnv(load: FunctionLoad, home: string): Record<string, string> {
  return { ...workerEnv(load), HOME: home, TMPDIR: home };
}

/** Shown in logs as a template's function: no function can have this name (names are validated by the gateway). */
export const TEMPLATE_NAME = "(template)";

/**
 * What a template worker is spawned with: no function env, no code (its cwd is its own directory), and
 * the container's memory for its heap limit, which cannot change once V8 has started.
 */
export function templateLoad(home: string, memoryMb: number): FunctionLoad {
  return { functionName: TEMPLATE_NAME, codeDir: home, entry: "", env: {}, memoryMb, timeoutMs: MIN_LOAD_TIMEOUT_MS, maxConcurrency: 1, workers: 1 };
}

function sameEnv(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

export function sameLoad(a: FunctionLoad, b: FunctionLoad): boolean {
  return (
    a.functionName === b.functionName &&
    path.resolve(a.codeDir) === path.resolve(b.codeDir) &&
    a.entry === b.entry &&
    sameEnv(a.env, b.env) &&
    a.memoryMb === b.memoryMb &&
    a.timeoutMs === b.timeoutMs &&
    a.maxConcurrency === b.maxConcurrency &&
    a.workers === b.workers
  );
}
