import { int, loadConfig, port, str } from "../../common/config.js";

export const balancerSchema = {
  host: str("BALANCER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("BALANCER_PORT", 7101, "Port of the gRPC server (0: any free port)."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  nodeStaleMs: int("NODE_STALE_MS", 5000, "A node whose last heartbeat is older than this is not routed to.", { min: 100 }),
  nodeWaitMs: int("NODE_WAIT_MS", 10_000, "How long a call waits for a first live node before UNAVAILABLE.", { min: 0 }),
  resyncMs: int("NODE_RESYNC_MS", 30_000, "How often the view of a node's containers is rebuilt from its ListContainers (events keep it current in between).", { min: 100 }),
};

export const loadBalancerConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(balancerSchema, env);
export type BalancerConfig = ReturnType<typeof loadBalancerConfig>;
