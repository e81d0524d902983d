import { internalSecretFileSetting, internalSecretFor, internalSecretSetting } from "../../common/internal-auth.js";
import * as os from "node:os";
import * as path from "node:path";
import { bool, ConfigError, int, loadConfig, num, oneOf, port, str, type ConfigOf } from "../../common/config.js";
import { POLICY_NAMES } from "./policies/index.js";

export const nodeManagerSchema = {
  nodeId: str("NODE_ID", "node-1", "Name of this node; labels its containers and its NATS subjects."),
  internalSecret: internalSecretSetting,
  internalSecretFile: internalSecretFileSetting,
  host: str("NODE_MANAGER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("NODE_MANAGER_PORT", 7102, "Port of the gRPC server (0: any free port)."),
  advertiseUrl: str("NODE_MANAGER_ADVERTISE_URL", "", "URL the balancer uses to reach this node; default http://HOST:PORT."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  dockerSocket: str("DOCKER_SOCKET", "/var/run/docker.sock", "Docker engine API socket."),
  runDir: str("NODE_RUN_DIR", "", "Host directory for the containers' sidecar sockets; default $TMPDIR/faas-run-NODE_ID. Must be the same path on the Docker host."),
  buildDir: str("NODE_BUILD_DIR", "", "Scratch directory for function image builds; default $TMPDIR/faas-build-NODE_ID."),
  codeDir: str("NODE_CODE_DIR", "", "Host directory keeping every prepared function's code, with and without its node_modules, for injecting into stem cells and zygotes; default $TMPDIR/faas-code-NODE_ID."),
  zygoteBuilderUrl: str("ZYGOTE_BUILDER_URL", "http://127.0.0.1:7103", "zygote-builder, asked for each function's package set (its image is what the function image builds FROM). When it does not answer, functions build on the plain runtime image."),
  runtimeImage: str("RUNTIME_IMAGE", "faas/runtime-nodejs20:dev", "Image function images build FROM (built by images/build.sh)."),
  memoryMb: int("NODE_MEMORY_MB", 0, "Memory this node gives to containers; 0: 75% of the host's memory.", { min: 0 }),
  crossTenantSharing: bool("CROSS_TENANT_SHARING", false, "Lend zygotes between functions of different tenants. Risky: the renter's worker is a fresh fork that never ran the lender's code, but it shares the container's kernel namespaces, temp space and CPU caches with what another tenant ran there."),
  policy: oneOf("NODE_POLICY", "keepalive", POLICY_NAMES, "Start-up policy: keepalive (fixed idle keep-alive), prewarm (OpenWhisk stem cells), sock (zygotes of the most popular packages), pagurus (idle executors become zygotes lent to similar functions), histogram (hybrid-histogram keep-alive and pre-warm windows)."),
  keepAliveMs: int("KEEP_ALIVE_MS", 600_000, "Idle time after which a container is removed (OpenWhisk default 10 min); every policy but histogram uses it.", { min: 0 }),
  stemCells: int("STEM_CELLS", 2, "prewarm: stem cells kept ready.", { min: 0, max: 1000 }),
  sockZygotes: int("SOCK_ZYGOTES", 2, "sock: zygotes of the popular package set kept ready.", { min: 0, max: 1000 }),
  zygoteTimeDefaultMs: int("ZYGOTE_TIME_DEFAULT_MS", 60_000, "pagurus: idle time after which an executor becomes a zygote while too few arrivals of its function are known; after that the 95th percentile of its inter-arrival gaps.", { min: 0 }),
  zygoteMinArrivals: int("ZYGOTE_MIN_ARRIVALS", 10, "pagurus: inter-arrival gaps needed before the zygote time adapts to the function.", { min: 1 }),
  zygotesFromHelpers: bool("ZYGOTES_FROM_HELPERS", false, "pagurus: idle helpers become zygotes as executors do (a container lent once can be lent again); off: helpers end at keep-alive, as DESIGN.md's life cycle has it."),
  zygoteOnDemand: bool("ZYGOTE_ON_DEMAND", true, "pagurus: a function about to start cold with no zygote to borrow gets an idle executor of another function that keeps another warm container, turned into a zygote on the spot and lent (its startup includes the conversion); off: only zygote time makes zygotes."),
  zygoteReserve: int("ZYGOTE_RESERVE", 0, "pagurus: zygotes kept standing while functions are active, covering them (an idle executor its function does not keep is converted early, else a zygote of the set covering the most active functions is started); 0: none, Pagurus's own design.", { min: 0, max: 100 }),
  maxLendersPerFunction: int("MAX_LENDERS_PER_FUNCTION", 2, "pagurus: zygotes that may come from one function's executors at once.", { min: 0 }),
  histogramFallbackKeepAliveMs: int("HISTOGRAM_FALLBACK_KEEP_ALIVE_MS", 0, "histogram: keep-alive for functions whose idle-time histogram is not representative; 0: KEEP_ALIVE_MS.", { min: 0 }),
  zygoteMemoryMb: int("ZYGOTE_MEMORY_MB", 64, "An executor turned zygote has its memory limit shrunk to the larger of this and 1.5x what its sidecar and template hold (grown back to the renter's limit when lent); pagurus keeps a shrunk zygote correspondingly longer. 0: zygotes keep the executor's limit.", { min: 0 }),
  spareMemoryMb: int("SPARE_MEMORY_MB", 256, "Memory limit of a stem cell or a SOCK zygote until it is lent (then its function's limit applies).", { min: 32 }),
  usageSampleMs: int("USAGE_SAMPLE_MS", 2000, "Interval of the resident-memory samples of the node's containers (published on faas.usage.NODE_ID).", { min: 100 }),
  idleAfterMs: int("IDLE_AFTER_MS", 100, "A container without invocations is reported IDLE after this long; back-to-back invocations keep it BUSY (0: at once).", { min: 0 }),
  reaperIntervalMs: int("REAPER_INTERVAL_MS", 1000, "How often the policy is consulted.", { min: 10 }),
  startTimeoutMs: int("CONTAINER_START_TIMEOUT_MS", 30_000, "How long a new container may take until its sidecar answers.", { min: 100 }),
  capacityWaitMs: int("CAPACITY_WAIT_MS", 30_000, "How long an invocation may wait for a container slot (memory, a start) before RESOURCE_EXHAUSTED.", { min: 0 }),
  maxStarts: int("MAX_CONCURRENT_STARTS", 0, "Containers that may be starting at once on this node; more would only slow each other down. 0: the number of CPUs (at least 2).", { min: 0 }),
  scaleUpCpuLimit: num("SCALE_UP_CPU_LIMIT", 0.9, "Above this CPU utilisation (0-1) of the host, a function that has containers gets no more: they would only share the same CPUs. 1: no limit.", { min: 0, max: 1 }),
  heartbeatMs: int("HEARTBEAT_MS", 1000, "Interval of the node's heartbeat on NATS.", { min: 50 }),
  pidsLimit: int("CONTAINER_PIDS_LIMIT", 512, "Process limit of each container.", { min: 16 }),
  cpusPerWorker: num("CONTAINER_CPUS_PER_WORKER", 1, "CPU limit of each container (Docker NanoCpus) per worker process of its function (limits.workers), capped at the host's CPUs; spares and zygotes get one worker's. Per worker rather than per MB (Lambda's 1769 MB per vCPU): here workers are the unit of CPU parallelism, and a 256 MB function at Lambda's ratio would get 0.14 CPU and start several times slower.", { min: 0.01, max: 1024 }),
  tmpfsMb: int("CONTAINER_TMPFS_MB", 64, "Size of the writable tmpfs at /tmp in each container (the root filesystem is read-only; the workers' private directories live there). Its pages count against the container's memory limit.", { min: 1, max: 65_536 }),
  allowHostNetwork: bool("ALLOW_HOST_NETWORK", false, "Run functions that ask for the host's network (spec.host_network) on it; off: preparing one fails with FAILED_PRECONDITION. The gateway's ALLOW_HOST_NETWORK must be on too. Every other container has no network at all."),
  containerNonRoot: bool(
    "CONTAINER_NON_ROOT",
    false,
    "Run every function container as the unprivileged user 10000 with all capabilities dropped and none added, sidecar included. Its sidecar cannot give each worker a uid of its own, so containers are never made zygotes or lent: NODE_POLICY must be keepalive or histogram. Off (default): the sidecar is the container's root with six capabilities and each worker its own uid, which zygote sharing needs.",
  ),
  npmInstallTimeoutMs: int("NPM_INSTALL_TIMEOUT_MS", 300_000, "Limit on installing a function's dependencies at deploy.", { min: 1000 }),
};

/** The policies that never lend a container to another function: the ones a non-root container allows. */
const NON_ROOT_POLICIES: readonly string[] = ["keepalive", "histogram"];

export type NodeManagerConfig = ConfigOf<typeof nodeManagerSchema> & { readonly runDir: string; readonly buildDir: string; readonly codeDir: string; readonly memoryMb: number; readonly maxStarts: number };

export function loadNodeManagerConfig(env: NodeJS.ProcessEnv = process.env): NodeManagerConfig {
  const c = loadConfig(nodeManagerSchema, env);
  if (c.containerNonRoot && !NON_ROOT_POLICIES.includes(c.policy)) {
    throw new ConfigError([`CONTAINER_NON_ROOT needs NODE_POLICY ${NON_ROOT_POLICIES.join(" or ")} (${c.policy} makes zygotes or stem cells, which need per-worker uids)`]);
  }
  return {
    ...c,
    internalSecret: internalSecretFor("NODE_MANAGER_HOST", c.host, c),
    runDir: c.runDir || path.join(os.tmpdir(), `faas-run-${c.nodeId}`),
    buildDir: c.buildDir || path.join(os.tmpdir(), `faas-build-${c.nodeId}`),
    codeDir: c.codeDir || path.join(os.tmpdir(), `faas-code-${c.nodeId}`),
    memoryMb: c.memoryMb || Math.floor((os.totalmem() / 1024 / 1024) * 0.75),
    maxStarts: c.maxStarts || Math.max(2, os.availableParallelism()),
  };
}
