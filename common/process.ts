// The start and stop of every service process: config errors exit with status 2 and say which variable
// is wrong; SIGTERM/SIGINT stop the service gracefully; a second signal exits at once.
import { ConfigError } from "./config.js";
import { createLogger, type Logger } from "./logger.js";

export interface Stoppable {
  stop(): Promise<void>;
}

export function runService(name: string, start: (logger: Logger) => Promise<Stoppable>): void {
  const logger = createLogger(name);
  let service: Stoppable | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    const done = service ? service.stop() : Promise.resolve();
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
  start(logger).then(
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
