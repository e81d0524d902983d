// The sidecar: entrypoint of every function container. Serves SidecarService (gRPC over HTTP/2) on the
// Unix socket node-manager bind-mounts at /run/faas, and supervises the function's worker process, or,
// as a zygote, a template worker that Fork hands to another function.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runService } from "../common/process.js";
import { serve } from "../common/server.js";
import { loadSidecarConfig } from "./config.js";
import { configuredLoad } from "./function-load.js";
import { RoleSwitch } from "./role-switch.js";
import { sidecarService } from "./service.js";
import { startSidecarTracing } from "./tracing-loader.js";
import { handSocketToDirectoryOwner } from "./socket-owner.js";
import { TemplateKeeper } from "./template-keeper.js";
import { WorkerIsolation } from "./worker-isolation.js";
import { EMPTY_MANIFEST, packageList, readZygoteManifest, type ZygoteManifest } from "./zygote-manifest.js";

/** The worker script sits next to this file: dist/sidecar-bundle/worker.js, /opt/faas/worker.js, or dist/sidecar/worker.js. */
const workerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "worker.js");
/** On SIGTERM, in-flight calls get this long to finish before connections are dropped and the worker killed. */
const STOP_GRACE_MS = 5000;

runService("sidecar", async (logger) => {
  const cfg = loadSidecarConfig();
  if (!fs.existsSync(workerScript)) throw new Error(`worker script ${workerScript} is missing next to the sidecar`);
  let manifest: ZygoteManifest;
  try {
    manifest = readZygoteManifest(cfg.zygoteManifest);
  } catch (err) {
    // A broken manifest is an image-build bug; the container's own function must still run.
    logger.error({ err: (err as Error).message }, "zygote manifest unusable: templates import no packages");
    manifest = EMPTY_MANIFEST;
  }
  const isolation = new WorkerIsolation({ workDir: cfg.workDir, uidBase: cfg.workerUidBase, logger });
  isolation.prepare(cfg.lockedDirs);
  const templates = new TemplateKeeper({
    workerScript,
    logger,
    isolation,
    packagesRoot: cfg.packagesRoot,
    packages: Object.keys(manifest.packages).sort(),
    memoryMb: cfg.memoryMb,
  });
  const stemCell = cfg.functionName === "";
  const roles = new RoleSwitch({ workerScript, logger, isolation, templates, configured: stemCell ? undefined : configuredLoad(cfg) });
  fs.mkdirSync(path.dirname(cfg.socketPath), { recursive: true });
  // serve() binds the socket synchronously before its first await; the fork right after it then overlaps
  // the worker's boot and import with the listener going live, and node-manager's "startup" does not pay
  // for the spawn.
  const serving = serve({
    name: "sidecar",
    logger,
    socketPath: cfg.socketPath,
    services: [sidecarService({ roles, packages: packageList(manifest) })],
    readMaxBytes: 64 * 1024 * 1024,
  });
  roles.start();
  const server = await serving;
  handSocketToDirectoryOwner(cfg.socketPath, logger);
  logger.info(
    {
      function: stemCell ? undefined : cfg.functionName,
      role: stemCell ? "zygote" : "function",
      codeDir: cfg.codeDir,
      entry: cfg.entry,
      memoryMb: cfg.memoryMb,
      timeoutMs: cfg.timeoutMs,
      maxConcurrency: cfg.maxConcurrency,
      workers: cfg.workers,
      zygoteSet: manifest.setId || undefined,
      packages: Object.keys(manifest.packages).length,
      uidIsolation: isolation.asRoot,
      bootMs: Math.round(process.uptime() * 1000),
    },
    "sidecar ready",
  );
  return {
    async stop() {
      await server.close(STOP_GRACE_MS);
      await roles.stop();
    },
  };
}, { tracing: () => startSidecarTracing(loadSidecarConfig().otlpSocket) });
