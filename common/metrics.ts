// Prometheus metrics of one service process: the process's own (CPU, memory, event-loop lag, GC) under
// a `faas_<service>_` prefix, and the service's metrics, defined in its own metrics module against the
// registry made here. serve() answers `GET /metrics` on the service's port with it (text exposition format).
import { collectDefaultMetrics, Registry } from "prom-client";

/** Seconds buckets for latencies from a warm call (~1 ms) to a slow cold start (~30 s). */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function serviceRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: `faas_${service.replace(/-/g, "_")}_` });
  return registry;
}
