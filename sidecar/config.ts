// The sidecar's settings, exactly the variables node-manager sets on each function container
// (services/node-manager/node.ts runnable()) plus the socket path from the Docker runtime.
import * as path from "node:path";
import { int, loadConfig, str, type ConfigOf, type Setting } from "../common/config.js";

/** Environment-variable names the worker can be given: no "=", no NUL, not empty. */
const ENV_NAME = /^[^=\0]+$/;

/** FAAS_FUNCTION_ENV: the function's own environment, a JSON object of strings. */
export function functionEnv(env: string, doc: string): Setting<Record<string, string>> {
  return {
    env,
    doc,
    defaultText: "{}",
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return {};
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        throw new Error(`must be a JSON object of strings: ${(err as Error).message}`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`must be a JSON object of strings, got ${Array.isArray(value) ? "an array" : String(value)}`);
      const out: Record<string, string> = {};
      for (const [name, v] of Object.entries(value)) {
        if (!ENV_NAME.test(name)) throw new Error(`has an invalid variable name ${JSON.stringify(name)}`);
        if (typeof v !== "string") throw new Error(`must map names to strings; ${name} is ${v === null ? "null" : typeof v}`);
        if (v.includes("\0")) throw new Error(`value of ${name} contains a NUL byte`);
        out[name] = v;
      }
      return out;
    },
  };
}

/**
 * FAAS_FUNCTION_NAME: unset means the historical default "function"; set but empty means a stem cell, a
 * container started for no function yet (it boots as a zygote and waits for Fork).
 */
export function functionName(env: string, doc: string): Setting<string> {
  return {
    env,
    doc,
    defaultText: "function",
    parse(raw) {
      if (raw === undefined) return "function";
      return raw.trim();
    },
  };
}

/** A comma-separated list of absolute paths; empty entries are dropped, so "" is the empty list. */
export function absolutePaths(env: string, defaultValue: readonly string[], doc: string): Setting<readonly string[]> {
  return {
    env,
    doc,
    defaultText: defaultValue.join(","),
    parse(raw) {
      if (raw === undefined) return defaultValue;
      const paths = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
      const relative = paths.find((p) => !path.isAbsolute(p));
      if (relative !== undefined) throw new Error(`must list absolute paths, got ${JSON.stringify(relative)}`);
      return paths;
    },
  };
}

/** One absolute path: the sidecar runs with cwd "/", and a relative path would silently mean something else in a worker. */
export function absolutePath(env: string, defaultValue: string, doc: string): Setting<string> {
  return {
    env,
    doc,
    defaultText: defaultValue,
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return defaultValue;
      if (!path.isAbsolute(raw)) throw new Error(`must be an absolute path, got ${JSON.stringify(raw)}`);
      return path.resolve(raw);
    },
  };
}

/** uids above this are not representable everywhere (and 2^31-1 is "nobody" on some systems). */
const MAX_WORKER_UID_BASE = 2_000_000_000;

export const sidecarSchema = {
  socketPath: str("FAAS_SOCKET_PATH", "/run/faas/sidecar.sock", "Unix socket the sidecar serves SidecarService on (bind-mounted from the host)."),
  functionName: functionName("FAAS_FUNCTION_NAME", "Name of the function this container runs; set to empty for a stem cell, which boots as a zygote with only a template worker."),
  codeDir: str("FAAS_CODE_DIR", "/fn", "Directory holding the function's code and node_modules; the worker's cwd."),
  entry: str("FAAS_ENTRY", "index.js", "Module inside FAAS_CODE_DIR that exports main(params, ctx)."),
  timeoutMs: int("FAAS_TIMEOUT_MS", 60_000, "Wall-clock limit of one main() execution.", { min: 1 }),
  memoryMb: int("FAAS_MEMORY_MB", 256, "Memory limit of the container; the worker's JavaScript heap gets 75% of it.", { min: 16, max: 1 << 20 }),
  workers: int("FAAS_WORKERS", 1, "Worker processes the function's invocations are spread over, all started with the container (CPU-bound functions packed several per container); one that dies is replaced when the others are busy.", { min: 1, max: 64 }),
  maxConcurrency: int("FAAS_MAX_CONCURRENCY", 1, "Invocations the worker runs at the same time; more wait in FIFO order.", { min: 1, max: 10_000 }),
  functionEnv: functionEnv("FAAS_FUNCTION_ENV", "JSON object: the function's own environment, the only variables its worker sees."),
  zygoteManifest: absolutePath("FAAS_ZYGOTE_MANIFEST", "/opt/faas/zygote.json", 'JSON manifest of the image\'s zygote package set, {"setId", "packages": {name: version}}; a missing file means no packages.'),
  packagesRoot: absolutePath("FAAS_PACKAGES_ROOT", "/", "Directory whose node_modules holds the zygote package set; template workers import the packages from there."),
  workerUidBase: int("FAAS_WORKER_UID_BASE", 10_000, "uid/gid of the configured function's workers when the sidecar runs as root; each template worker gets the next unused one.", { min: 1, max: MAX_WORKER_UID_BASE }),
  workDir: absolutePath("FAAS_WORK_DIR", "/tmp/faas-work", "Parent of the workers' private writable directories, one per worker uid named after it (the worker's HOME and TMPDIR)."),
  otlpSocket: str("FAAS_OTLP_SOCKET", "", "Unix socket of node-manager's OTLP relay; set: the sidecar loads the OpenTelemetry SDK and exports the spans of sampled invocations (sidecar init, function execution) through it."),
  lockedDirs: absolutePaths("FAAS_LOCKED_DIRS", ["/tmp", "/var/tmp", "/dev/shm"], "World-writable directories the sidecar (as root) makes 0711 at start, so workers write only in their own directory."),
};

export type SidecarConfig = ConfigOf<typeof sidecarSchema>;

export function loadSidecarConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  return loadConfig(sidecarSchema, env);
}
