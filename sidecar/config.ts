// The sidecar's settings, exactly the variables node-manager sets on each function container
// (services/node-manager/node.ts runnable()) plus the socket path from the Docker runtime.
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

export const sidecarSchema = {
  socketPath: str("FAAS_SOCKET_PATH", "/run/faas/sidecar.sock", "Unix socket the sidecar serves SidecarService on (bind-mounted from the host)."),
  functionName: str("FAAS_FUNCTION_NAME", "function", "Name of the function this container runs."),
  codeDir: str("FAAS_CODE_DIR", "/fn", "Directory holding the function's code and node_modules; the worker's cwd."),
  entry: str("FAAS_ENTRY", "index.js", "Module inside FAAS_CODE_DIR that exports main(params, ctx)."),
  timeoutMs: int("FAAS_TIMEOUT_MS", 60_000, "Wall-clock limit of one main() execution.", { min: 1 }),
  memoryMb: int("FAAS_MEMORY_MB", 256, "Memory limit of the container; the worker's JavaScript heap gets 75% of it.", { min: 16, max: 1 << 20 }),
  maxConcurrency: int("FAAS_MAX_CONCURRENCY", 1, "Invocations the worker runs at the same time; more wait in FIFO order.", { min: 1, max: 10_000 }),
  functionEnv: functionEnv("FAAS_FUNCTION_ENV", "JSON object: the function's own environment, the only variables its worker sees."),
};

export type SidecarConfig = ConfigOf<typeof sidecarSchema>;

export function loadSidecarConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  return loadConfig(sidecarSchema, env);
}
