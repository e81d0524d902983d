import { internalSecretFileSetting, internalSecretFor, internalSecretSetting } from "../../common/internal-auth.js";
import * as os from "node:os";
import * as path from "node:path";
import { bool, int, loadConfig, num, port, str, type ConfigOf } from "../../common/config.js";

export const zygoteBuilderSchema = {
  internalSecret: internalSecretSetting,
  internalSecretFile: internalSecretFileSetting,
  host: str("ZYGOTE_BUILDER_HOST", "127.0.0.1", "Address the gRPC server binds."),
  port: port("ZYGOTE_BUILDER_PORT", 7103, "Port of the gRPC server (0: any free port)."),
  natsUrl: str("NATS_URL", "nats://127.0.0.1:4222", "NATS server(s), comma-separated."),
  gatewayUrl: str("GATEWAY_URL", "http://127.0.0.1:7100", "The gateway, asked for the deployed functions at start (events keep the list current after)."),
  operatorKey: str("GATEWAY_OPERATOR_KEY", "", "The gateway's operator key: listing every tenant's functions needs it. Empty: read from GATEWAY_OPERATOR_KEY_FILE."),
  operatorKeyFile: str("GATEWAY_OPERATOR_KEY_FILE", "data/operator.key", "File holding the operator key when GATEWAY_OPERATOR_KEY is empty (the gateway creates it)."),
  maxPackages: int("ZYGOTE_MAX_PACKAGES", 40, "Most packages one zygote's set may hold.", { min: 1, max: 10_000 }),
  minSimilarity: num("ZYGOTE_MIN_SIMILARITY", 0.2, "Least Jaccard similarity of two groups' package sets for them to share a zygote.", { min: 0, max: 1 }),
  dockerSocket: str("DOCKER_SOCKET", "/var/run/docker.sock", "Docker engine API socket (zygote images are built there)."),
  runtimeImage: str("RUNTIME_IMAGE", "faas/runtime-nodejs20:dev", "Image zygote images build FROM (built by images/build.sh)."),
  buildDir: str("ZYGOTE_BUILD_DIR", "", "Scratch directory for zygote image builds (npm installs the sets' packages there); default $TMPDIR/faas-zygote-build."),
  npmInstallTimeoutMs: int("NPM_INSTALL_TIMEOUT_MS", 300_000, "Limit on installing one package set's dependencies.", { min: 1000 }),
  buildPopular: bool("ZYGOTE_BUILD_POPULAR", true, "Build the popular (SOCK) set's image in the background whenever a re-plan changes it."),
};

export type ZygoteBuilderConfig = ConfigOf<typeof zygoteBuilderSchema> & { readonly buildDir: string };

export function loadZygoteBuilderConfig(env: NodeJS.ProcessEnv = process.env): ZygoteBuilderConfig {
  const c = loadConfig(zygoteBuilderSchema, env);
  return { ...c, internalSecret: internalSecretFor("ZYGOTE_BUILDER_HOST", c.host, c), buildDir: c.buildDir || path.join(os.tmpdir(), "faas-zygote-build") };
}
