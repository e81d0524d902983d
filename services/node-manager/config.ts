import * as os from "node:os";
import * as path from "node:path";
import { int, loadConfig, num, oneOf, port, str, type ConfigOf } from "../../common/config.js";

export const nodeManagerSchema = {
  nodeId: str("NODE_ID", "node-1", "Name of this node; labels its containers and its NATS subjects."),
  host: str("NODE_MANAGER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("NODE_MANAGER_PORT", 7102, "Port of the gRPC server (0: any free port)."),
  advertiseUrl: str("NODE_MANAGER_ADVERTISE_URL", "", "URL the balancer uses to reach this node; default http://HOST:PORT."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  dockerSocket: str("DOCKER_SOCKET", "/var/run/docker.sock", "Docker engine API socket."),
  runDir: str("NODE_RUN_DIR", "", "Host directory for the containers' sidecar sockets; default $TMPDIR/faas-run-NODE_ID. Must be the same path on the Docker host."),
  buildDir: str("NODE_BUILD_DIR", "", "Scratch directory for function image builds; default $TMPDIR/faas-build-NODE_ID."),
  runtimeImage: str("RUNTIME_IMAGE", "faas/runtime-nodejs20:dev", "Image function images build FROM (built by images/build.sh)."),
  memoryMb: int("NODE_MEMORY_MB", 0, "Memory this node gives to containers; 0: 75% of the host's memory.", { min: 0 }),
  policy: oneOf("NODE_POLICY", "keepalive", ["keepalive"] as const, "Start-up policy deciding which idle containers go."),
  keepAliveMs: int("KEEP_ALIVE_MS", 600_000, "Idle time after which the keepalive policy removes an executor (OpenWhisk default 10 min).", { min: 0 }),
  idleAfterMs: int("IDLE_AFTER_MS", 100, "A container without invocations is reported IDLE after this long; back-to-back invocations keep it BUSY (0: at once).", { min: 0 }),
  reaperIntervalMs: int("REAPER_INTERVAL_MS", 1000, "How often the policy is consulted.", { min: 10 }),
  startTimeoutMs: int("CONTAINER_START_TIMEOUT_MS", 30_000, "How long a new container may take until its sidecar answers.", { min: 100 }),
  capacityWaitMs: int("CAPACITY_WAIT_MS", 30_000, "How long an invocation may wait for a container slot (memory, a start) before RESOURCE_EXHAUSTED.", { min: 0 }),
  maxStarts: int("MAX_CONCURRENT_STARTS", 0, "Containers that may be starting at once on this node; more would only slow each other down. 0: the number of CPUs (at least 2).", { min: 0 }),
  scaleUpCpuLimit: num("SCALE_UP_CPU_LIMIT", 0.9, "Above this CPU utilisation (0-1) of the host, a function that has containers gets no more: they would only share the same CPUs. 1: no limit.", { min: 0, max: 1 }),
  heartbeatMs: int("HEARTBEAT_MS", 1000, "Interval of the node's heartbeat on NATS.", { min: 50 }),
  pidsLimit: int("CONTAINER_PIDS_LIMIT", 512, "Process limit of each container.", { min: 16 }),
  npmInstallTimeoutMs: int("NPM_INSTALL_TIMEOUT_MS", 300_000, "Limit on installing a function's dependencies at deploy.", { min: 1000 }),
};

export type NodeManagerConfig = ConfigOf<typeof nodeManagerSchema> & { readonly runDir: string; readonly buildDir: string; readonly memoryMb: number; readonly maxStarts: number };

export function loadNodeManagerConfig(env: NodeJS.ProcessEnv = process.env): NodeManagerConfig {
  const c = loadConfig(nodeManagerSchema, env);
  return {
    ...c,
    runDir: c.runDir || path.join(os.tmpdir(), `faas-run-${c.nodeId}`),
    buildDir: c.buildDir || path.join(os.tmpdir(), `faas-build-${c.nodeId}`),
    memoryMb: c.memoryMb || Math.floor((os.totalmem() / 1024 / 1024) * 0.75),
    maxStarts: c.maxStarts || Math.max(2, os.availableParallelism()),
  };
}
