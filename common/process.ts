// The start and stop of every service process: config errors exit with status 2 and say which variable
// is wrong; SIGTERM/SIGINT stop the service gracefully; a second signal exits at once. Tracing starts
// before the service and is flushed after it stops.
import { ConfigError } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { useNodeTextEncoding } from "./protobuf-text-encoding.js";
import type { TracingHandle } from "./tracing.js";

export interface Stoppable {
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Sets up tracing before the service starts (common/tracing.ts; the sidecar loads its SDK lazily). */
  readonly tracing?: (service: string) => TracingHandle | undefined | Promise<TracingHandle | undefined>;
}

export function runService(name: string, start: (logger: Logger) => Promise<Stoppable>, options: ServiceOptions = {}): void {
  useNodeTextEncoding();
  const logger = createLogger(name);
  let tracing: TracingHandle | undefined;
  let service: Stoppable | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    const done = (service ? service.stop() : Promise.resolve()).then(() => tracing?.shutdown());
    done.then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  const begin = async () => {
    tracing = await options.tracing?.(name);
    return start(logger);
  };
  begin().then(
    (s) => {
      service = s;
      if (stopping) void s.stop().then(() => process.exit(0));
    },
    (err) => {
      if (err instanceof ConfigError) {
        logger.fatal({ problems: err.problems }, err.message);
        process.exit(2);
      }
      logger.fatal({ err }, "failed to start");
      process.exit(1);
    },
  );
}
