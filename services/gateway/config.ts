import { internalSecretFileSetting, internalSecretSetting, resolveInternalSecret } from "../../common/internal-auth.js";
import { bool, ConfigError, int, loadConfig, port, str } from "../../common/config.js";

export const gatewaySchema = {
  internalSecret: internalSecretSetting,
  internalSecretFile: internalSecretFileSetting,
  host: str("GATEWAY_HOST", "127.0.0.1", "Address the public gRPC/Connect server binds."),
  port: port("GATEWAY_PORT", 7100, "Port of the public server (0: any free port)."),
  balancerUrl: str("BALANCER_URL", "http://127.0.0.1:7101", "The balancer's gRPC address."),
  traceStoreUrl: str("TRACE_STORE_URL", "http://127.0.0.1:7104", "trace-store's gRPC address."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  database: str("GATEWAY_DB", "data/gateway.db", "SQLite file holding the deployed functions (\":memory:\" keeps them in memory)."),
  maxPayloadBytes: int("MAX_PAYLOAD_BYTES", 1024 * 1024, "Largest invocation payload; larger ones get RESOURCE_EXHAUSTED.", { min: 2, max: 256 * 1024 * 1024 }),
  maxCodeBytes: int("MAX_CODE_BYTES", 50 * 1024 * 1024, "Largest function code upload (sum of its files); a code archive may be this large both compressed and unpacked.", { min: 1024, max: 512 * 1024 * 1024 }),
  allowHostNetwork: bool("ALLOW_HOST_NETWORK", false, "Accept functions that ask for the host's network (spec.host_network); off: such a deploy is refused with FAILED_PRECONDITION. Risky: such a container reaches everything the host reaches (the mesh's own ports, NATS, the cloud metadata service). Nodes must allow it too."),
  prepareTimeoutMs: int("PREPARE_TIMEOUT_MS", 600_000, "Bound on a deploy: the nodes install dependencies and build the image.", { min: 1000 }),
  platformAllowanceMs: int("PLATFORM_ALLOWANCE_MS", 90_000, "Time beyond a function's timeout an invocation may spend waiting for capacity and starting a container.", { min: 1000 }),
  asyncResultTtlMs: int("ASYNC_RESULT_TTL_MS", 3_600_000, "How long the result of an async invocation can be fetched after it finished: the TTL of the faas-async-results bucket, renewed by every write (accept, each attempt, the result).", { min: 1000 }),
  asyncMaxAttempts: int("ASYNC_MAX_ATTEMPTS", 5, "Attempts of an async invocation whose platform failed it before it reached the function (UNAVAILABLE, RESOURCE_EXHAUSTED), the first included; then it is dead-lettered.", { min: 1, max: 100 }),
  asyncBackoffBaseMs: int("ASYNC_BACKOFF_BASE_MS", 1000, "Delay before an async invocation's second attempt; it doubles for each further one.", { min: 1, max: 3_600_000 }),
  asyncBackoffMaxMs: int("ASYNC_BACKOFF_MAX_MS", 60_000, "Longest delay between two attempts of an async invocation (at least ASYNC_BACKOFF_BASE_MS).", { min: 1, max: 3_600_000 }),
  asyncWorkers: int("ASYNC_WORKERS", 64, "Async invocations this gateway runs at once, taken from the JetStream stream all gateways share (0: it only accepts them).", { min: 0, max: 10_000 }),
  asyncAckWaitMs: int("ASYNC_ACK_WAIT_MS", 30_000, "An async invocation whose gateway sent no sign of progress for this long (it died) is taken over by another; progress is sent every third of it.", { min: 1000, max: 3_600_000 }),
  asyncStreamMaxAgeMs: int("ASYNC_STREAM_MAX_AGE_MS", 86_400_000, "Longest an accepted async invocation may wait in the FAAS_ASYNC stream; JetStream drops it unrun after that (an operator's backstop for a queue nobody works).", { min: 60_000 }),
  asyncDeadLetterMaxAgeMs: int("ASYNC_DEAD_LETTER_MAX_AGE_MS", 604_800_000, "How long dead-lettered async invocations are kept for the operator to replay.", { min: 60_000 }),
  asyncStoreTimeoutMs: int("ASYNC_STORE_TIMEOUT_MS", 5000, "Bound on storing an async invocation in JetStream; past it (NATS down) InvokeAsync answers UNAVAILABLE.", { min: 100, max: 60_000 }),
  recordFlushMs: int("RECORD_FLUSH_MS", 50, "Longest an invocation record waits before it is sent to trace-store.", { min: 1 }),
  operatorKey: str("GATEWAY_OPERATOR_KEY", "", "The operator key (at least 16 characters), which manages tenants and API keys. Empty: read from GATEWAY_OPERATOR_KEY_FILE, created there with a random key on first start."),
  operatorKeyFile: str("GATEWAY_OPERATOR_KEY_FILE", "data/operator.key", "File holding the operator key when GATEWAY_OPERATOR_KEY is empty (created with mode 0600)."),
  tenantMaxConcurrent: int("TENANT_MAX_CONCURRENT", 1000, "Default quota: invocations one tenant runs at once (a tenant created with 0 gets this).", { min: 1, max: 10_000_000 }),
  tenantRatePerSecond: int("TENANT_RATE_PER_SECOND", 1000, "Default quota: invocations per second one tenant may start, sustained.", { min: 1, max: 10_000_000 }),
  tenantBurst: int("TENANT_BURST", 2000, "Default quota: invocations one tenant may start at once after an idle period.", { min: 1, max: 10_000_000 }),
  recordBatch: int("RECORD_BATCH", 500, "Invocation records sent to trace-store in one call.", { min: 1, max: 10_000 }),
};

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) => {
  const cfg = loadConfig(gatewaySchema, env);
  if (cfg.asyncBackoffMaxMs < cfg.asyncBackoffBaseMs) throw new ConfigError([`ASYNC_BACKOFF_MAX_MS (${cfg.asyncBackoffMaxMs}) must be at least ASYNC_BACKOFF_BASE_MS (${cfg.asyncBackoffBaseMs})`]);
  // The gateway is the public door (no binding check); it only sends the secret to the services behind it.
  return { ...cfg, internalSecret: resolveInternalSecret(cfg.internalSecret, cfg.internalSecretFile) };
};
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
