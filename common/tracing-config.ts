// Tracing configuration: the standard OpenTelemetry variables every service and the sidecar read,
// validated at start like the rest of the configuration, and the sampler they describe.
import { bool, int, loadConfig, num, oneOf, str, type ConfigOf } from "./config.js";

export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** OTLP/HTTP encodings we export ("grpc" is not offered: every collector that speaks OTLP takes HTTP). */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The batch span processor's settings (the SDK's BatchSpanProcessor names them so). */
export interface BatchSettings {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly exportTimeoutMillis: number;
}

/** The SDK's defaults, and the OTEL_BSP_* variables' below. */
export const DEFAULT_BATCH_SETTINGS: BatchSettings = { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30_000 };

export const tracingSchema = {
  disabled: bool("OTEL_SDK_DISABLED", false, "`true`: no tracing at all (no spans, no trace ids in logs)."),
  endpoint: str(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "",
    "OTLP/HTTP base URL (e.g. `http://127.0.0.1:4318`); spans go to `<endpoint>/v1/traces`. Empty and no traces endpoint: spans are made (trace ids in logs and in `ctx.traceparent`) but not exported.",
  ),
  tracesEndpoint: str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "Full OTLP/HTTP traces URL; overrides the base endpoint."),
  protocol: oneOf(
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "http/protobuf",
    OTLP_PROTOCOLS,
    "OTLP/HTTP encoding: `http/protobuf` (the standard default; about a third of JSON's CPU and size per span) or `http/json`.",
  ),
  tracesProtocol: oneOf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "", ["", ...OTLP_PROTOCOLS], "Encoding for traces; overrides `OTEL_EXPORTER_OTLP_PROTOCOL` (same values; empty: that one)."),
  sampler: oneOf("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", SAMPLERS, "Which traces are recorded; `parentbased_*` follow the caller's sampled flag."),
  spans: oneOf(
    "FAAS_TRACING_SPANS",
    "lean",
    ["lean", "sdk"] as const,
    "How the mesh's own spans are recorded: `lean` (plain span objects with the SDK's sampler, ids and resource, common/lean-spans.ts) or `sdk` (the SDK's own spans; what `lean` is measured against in `npm run bench:tracing`). Either way they are batched and exported by the same processor.",
  ),
  samplerArg: num("OTEL_TRACES_SAMPLER_ARG", 0.1, "Ratio of new traces recorded by the `traceidratio` samplers.", { min: 0, max: 1 }),
  // The batch span processor's standard variables, with the SDK's defaults.
  bspScheduleDelay: int("OTEL_BSP_SCHEDULE_DELAY", DEFAULT_BATCH_SETTINGS.scheduledDelayMillis, "Milliseconds the first span of a batch waits before the batch is exported.", { min: 0 }),
  bspExportTimeout: int("OTEL_BSP_EXPORT_TIMEOUT", DEFAULT_BATCH_SETTINGS.exportTimeoutMillis, "Milliseconds an export may take before the next batch no longer waits for it.", { min: 1 }),
  bspMaxQueueSize: int("OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_BATCH_SETTINGS.maxQueueSize, "Spans that may wait for export; more are dropped (and counted in a warning).", { min: 1 }),
  bspMaxExportBatchSize: int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_BATCH_SETTINGS.maxExportBatchSize, "Spans per export at most (at most `OTEL_BSP_MAX_QUEUE_SIZE`).", { min: 1 }),
} as const;

export type TracingConfig = ConfigOf<typeof tracingSchema>;

export function loadTracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig {
  return loadConfig(tracingSchema, env);
}

/** The batch span processor's settings (encoding-span-processor.ts and the SDK's BatchSpanProcessor alike). */
export function batchSettings(cfg: Pick<TracingConfig, "bspScheduleDelay" | "bspExportTimeout" | "bspMaxQueueSize" | "bspMaxExportBatchSize">): BatchSettings {
  return {
    scheduledDelayMillis: cfg.bspScheduleDelay,
    exportTimeoutMillis: cfg.bspExportTimeout,
    maxQueueSize: cfg.bspMaxQueueSize,
    maxExportBatchSize: cfg.bspMaxExportBatchSize,
  };
}

/** The encoding spans are exported in: the traces-specific variable wins over the general one. */
export function tracesProtocol(cfg: Pick<TracingConfig, "protocol" | "tracesProtocol">): OtlpProtocol {
  return cfg.tracesProtocol || cfg.protocol;
}

/** Where spans are exported, or undefined when they are not. */
export function tracesUrl(cfg: TracingConfig): string | undefined {
  if (cfg.disabled) return undefined;
  if (cfg.tracesEndpoint) return cfg.tracesEndpoint;
  if (cfg.endpoint) return `${cfg.endpoint.replace(/\/+$/, "")}/v1/traces`;
  return undefined;
}

/** The sampler as data (the SDK objects are built from it in tracing.ts): testable without the SDK. */
export interface SamplerPlan {
  /** For new traces (no caller, or a caller whose decision is ignored). */
  readonly root: "on" | "off" | { ratio: number };
  /** Follow the caller's sampled flag when there is one. */
  readonly parentBased: boolean;
}

export function samplerPlan(cfg: Pick<TracingConfig, "sampler" | "samplerArg">): SamplerPlan {
  const parentBased = cfg.sampler.startsWith("parentbased_");
  const kind = cfg.sampler.replace(/^parentbased_/, "");
  const root = kind === "always_on" ? "on" : kind === "always_off" ? "off" : { ratio: cfg.samplerArg };
  return { root, parentBased };
}
