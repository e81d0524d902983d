import { int, loadConfig, num, port, str } from "../../common/config.js";

export const zygoteBuilderSchema = {
  host: str("ZYGOTE_BUILDER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("ZYGOTE_BUILDER_PORT", 7103, "Port of the gRPC server (0: any free port)."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  gatewayUrl: str("GATEWAY_URL", "http://127.0.0.1:7100", "The gateway, asked for the deployed functions at start (events keep the list current after)."),
  maxPackages: int("ZYGOTE_MAX_PACKAGES", 40, "Most packages one zygote's set may hold.", { min: 1, max: 10_000 }),
  minSimilarity: num("ZYGOTE_MIN_SIMILARITY", 0.2, "Least Jaccard similarity of two groups' package sets for them to share a zygote.", { min: 0, max: 1 }),
};

export const loadZygoteBuilderConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(zygoteBuilderSchema, env);
