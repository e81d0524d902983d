// The sidecar: entrypoint of every function container. Serves SidecarService (gRPC over HTTP/2) on the
// Unix socket node-manager bind-mounts at /run/faas, and supervises the function's worker process.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runService } from "../common/process.js";
import { serve } from "../common/server.js";
import { loadSidecarConfig } from "./config.js";
import { configuredLoad } from "./function-load.js";
import { sidecarService } from "./service.js";
import { handSocketToDirectoryOwner } from "./socket-owner.js";
import { FunctionSupervisor } from "./supervisor.js";

/** The worker script sits next to this file: dist/sidecar-bundle/worker.js, /opt/faas/worker.js, or dist/sidecar/worker.js. */
const workerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "worker.js");
/** On SIGTERM, in-flight calls get this long to finish before connections are dropped and the worker killed. */
const STOP_GRACE_MS = 5000;

runService("sidecar", async (logger) => {
  const cfg = loadSidecarConfig();
  if (!fs.existsSync(workerScript)) throw new Error(`worker script ${workerScript} is missing next to the sidecar`);
  const supervisor = new FunctionSupervisor({ load: configuredLoad(cfg), workerScript, logger });
  fs.mkdirSync(path.dirname(cfg.socketPath), { recursive: true });
  // serve() binds the socket synchronously before its first await; the fork right after it then overlaps
  // the worker's boot and import with the listener going live, and node-manager's "startup" does not pay
  // for the spawn.
  const serving = serve({ name: "sidecar", logger, socketPath: cfg.socketPath, services: [sidecarService(supervisor)], readMaxBytes: 64 * 1024 * 1024 });
  supervisor.start();
  const server = await serving;
  handSocketToDirectoryOwner(cfg.socketPath, logger);
  logger.info(
    { function: cfg.functionName, codeDir: cfg.codeDir, entry: cfg.entry, memoryMb: cfg.memoryMb, timeoutMs: cfg.timeoutMs, maxConcurrency: cfg.maxConcurrency, bootMs: Math.round(process.uptime() * 1000) },
    "sidecar ready",
  );
  return {
    async stop() {
      await server.close(STOP_GRACE_MS);
      await supervisor.stop();
    },
  };
});
