import { int, loadConfig, port, str } from "../../common/config.js";

export const gatewaySchema = {
  host: str("GATEWAY_HOST", "127.0.0.1", "Address the public gRPC/Connect server binds."),
  port: port("GATEWAY_PORT", 7100, "Port of the public server (0: any free port)."),
  balancerUrl: str("BALANCER_URL", "http://127.0.0.1:7101", "The balancer's gRPC address."),
  traceStoreUrl: str("TRACE_STORE_URL", "http://127.0.0.1:7104", "trace-store's gRPC address."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  database: str("GATEWAY_DB", "data/gateway.db", "SQLite file holding the deployed functions (\":memory:\" keeps them in memory)."),
  maxPayloadBytes: int("MAX_PAYLOAD_BYTES", 1024 * 1024, "Largest invocation payload; larger ones get RESOURCE_EXHAUSTED.", { min: 2, max: 256 * 1024 * 1024 }),
  maxCodeBytes: int("MAX_CODE_BYTES", 50 * 1024 * 1024, "Largest function code upload (sum of its files).", { min: 1024, max: 512 * 1024 * 1024 }),
  prepareTimeoutMs: int("PREPARE_TIMEOUT_MS", 600_000, "Bound on a deploy: the nodes install dependencies and build the image.", { min: 1000 }),
  platformAllowanceMs: int("PLATFORM_ALLOWANCE_MS", 90_000, "Time beyond a function's timeout an invocation may spend waiting for capacity and starting a container.", { min: 1000 }),
  asyncResultTtlMs: int("ASYNC_RESULT_TTL_MS", 3_600_000, "How long the result of an async invocation can be fetched after it finished.", { min: 1000 }),
  recordFlushMs: int("RECORD_FLUSH_MS", 50, "Longest an invocation record waits before it is sent to trace-store.", { min: 1 }),
  recordBatch: int("RECORD_BATCH", 500, "Invocation records sent to trace-store in one call.", { min: 1, max: 10_000 }),
};

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(gatewaySchema, env);
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
