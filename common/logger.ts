// pino JSON logs, one logger per process, named after the service. A line written inside a traced
// request carries that request's trace_id and span_id (the OpenTelemetry log field names), so a log
// search and a Jaeger trace lead to each other.
import { pino, type Logger } from "pino";
import { activeTraceIds } from "./trace-context.js";

export type { Logger };

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid }, mixin: activeTraceIds });
}
