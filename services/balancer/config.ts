import { internalSecretFileSetting, internalSecretFor, internalSecretSetting } from "../../common/internal-auth.js";
import { int, loadConfig, num, oneOf, port, str } from "../../common/config.js";
import { LAMBDA_X86_USD_PER_GB_SECOND, METRICS, OBJECTIVES } from "./packing/planner.js";
import { BATCHING_POLICIES, DEFAULT_BATCH_MAX_SIZE } from "./dispatch/batching-policy.js";

const BATCHING_MODES = ["off", ...BATCHING_POLICIES] as const;

export const balancerSchema = {
  internalSecret: internalSecretSetting,
  internalSecretFile: internalSecretFileSetting,
  host: str("BALANCER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("BALANCER_PORT", 7101, "Port of the gRPC server (0: any free port)."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  nodeStaleMs: int("NODE_STALE_MS", 5000, "A node whose last heartbeat is older than this is not routed to.", { min: 100 }),
  nodeWaitMs: int("NODE_WAIT_MS", 10_000, "How long a call waits for a first live node before UNAVAILABLE.", { min: 0 }),
  batching: oneOf(
    "BATCHING_POLICY",
    "off",
    BATCHING_MODES,
    "How invocations reach the nodes: off (each on its own call, containers at the function's concurrency), vanilla (through the dispatch queue, one invocation per container at a time: OpenWhisk's default), window-only (FaaSBatch as published: a fixed window, unbounded batches, one container each), kraken (batch size floor(BATCH_SLO_MS / mean duration)), faasbatch (adaptive window, bounded batches, pieces of the packing degree).",
  ),
  batchWindowMs: int("BATCH_WINDOW_MS", 10, "window-only and kraken: how long a batch gathers invocations after its first.", { min: 0 }),
  batchWindowStepMs: int("BATCH_WINDOW_STEP_MS", 2, "faasbatch: the adaptive window's first width and smallest non-zero width.", { min: 1 }),
  batchWindowMaxMs: int("BATCH_WINDOW_MAX_MS", 50, "faasbatch: the adaptive window's widest.", { min: 1 }),
  batchIdleResetMs: int("BATCH_IDLE_RESET_MS", 1000, "faasbatch: after this long without an arrival the adaptive window is zero.", { min: 1 }),
  batchMaxSize: int("BATCH_MAX_SIZE", DEFAULT_BATCH_MAX_SIZE, "faasbatch: members of one batch at most.", { min: 1 }),
  batchMaxQueued: int("BATCH_MAX_QUEUED", 10_000, "Invocations of one function waiting in its dispatch queue at most; beyond, RESOURCE_EXHAUSTED.", { min: 1 }),
  batchPackingDegree: int("BATCH_PACKING_DEGREE", 0, "faasbatch: invocations per container (0: the function's max concurrency); never above the function's max concurrency.", { min: 0 }),
  batchPackingInstances: int("BATCH_PACKING_INSTANCES", 0, "faasbatch: a function's pieces in flight at most (0: as many as the planner's CPU model asks for, unbounded without one).", { min: 0 }),
  batchSloMs: int("BATCH_SLO_MS", 1000, "kraken: the latency objective its batch size divides by the function's mean duration.", { min: 1 }),
  packingProfile: str("PACKING_PROFILE", "", "A packing profile (JSON: measured S(n), E(d) per function by its qualified name, and the node's CPU model, written by `node dist/loadgen/burst.js --profile FILE`) the planner starts from; empty: it starts from what live batches show. With a CPU model, a batch's pieces go to the instances the planner asks for."),
  packingObjective: oneOf("PACKING_OBJECTIVE", "both", OBJECTIVES, "What the packing planner minimises: time, cost, or both (normalised weighted sum)."),
  packingMetric: oneOf("PACKING_METRIC", "total", METRICS, "The planner's time: the makespan (total), the median or the tail (p99) of the completions."),
  packingUsdPerGbSecond: num("PACKING_USD_PER_GB_S", LAMBDA_X86_USD_PER_GB_SECOND, "Price per GB-second in the cost model (default: AWS Lambda x86).", { min: 0 }),
  packingCostWeight: num("PACKING_COST_WEIGHT", 0.55, "Objective both: weight of the normalised cost.", { min: 0 }),
  packingTimeWeight: num("PACKING_TIME_WEIGHT", 0.45, "Objective both: weight of the normalised time.", { min: 0 }),
  resyncMs: int("NODE_RESYNC_MS", 30_000, "How often the view of a node's containers is rebuilt from its ListContainers (events keep it current in between).", { min: 100 }),
};

export const loadBalancerConfig = (env: NodeJS.ProcessEnv = process.env) => {
  const c = loadConfig(balancerSchema, env);
  return { ...c, internalSecret: internalSecretFor("BALANCER_HOST", c.host, c) };
};
export type BalancerConfig = ReturnType<typeof loadBalancerConfig>;
