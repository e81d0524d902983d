// The OpenTelemetry SDK of a process, set up from the standard OTEL_* variables (tracing-config.ts):
// sampler, OTLP/HTTP exporter (protobuf or JSON), W3C propagator. Spans are opened through trace-context.ts. Instrumentation is by hand:
// an invocation's phases (queue wait, acquire, fork, init, execution) are ours, not a library's, and
// the hot path must not pay for auto-instrumentation of every socket.
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import type * as http from "node:http";
import { EncodingSpanProcessor } from "./encoding-span-processor.js";
import { OtlpHttpProtobufExporter } from "./otlp-http-exporter.js";
import { SyncContextManager } from "./sync-context-manager.js";
import { LeanTracer } from "./lean-spans.js";
import { enablePropagation, installMeshTracer, TRACER_NAME } from "./trace-context.js";
import {
  batchSettings,
  loadTracingConfig,
  samplerPlan,
  tracesProtocol,
  tracesUrl,
  type OtlpProtocol,
  type SamplerPlan,
  type TracingConfig,
} from "./tracing-config.js";

export interface TracingHandle {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly config?: TracingConfig;
  /** Replaces the configured sampler (the sidecar never starts a trace of its own). */
  readonly sampler?: SamplerPlan;
  /** Replaces the configured URL. */
  readonly url?: string;
  /** How the exporter connects (the sidecar: a Unix socket, its container has no network). */
  readonly agent?: () => http.Agent;
}

const NOT_TRACING: TracingHandle = { shutdown: async () => {} };

/**
 * Registers the SDK for this process. Disabled: nothing is registered and every helper below is a
 * no-op. Enabled without an exporter: spans are not recorded, but ids are made and propagated, so
 * logs and functions still see the trace they are part of.
 */
export function startTracing(service: string, options: TracingOptions = {}): TracingHandle {
  const cfg = options.config ?? loadTracingConfig();
  if (cfg.disabled) return NOT_TRACING;
  const url = options.url ?? tracesUrl(cfg);
  const resource = resourceFromAttributes({ "service.name": `faas-${service}`, "service.namespace": "faas" });
  const processor = url ? spanProcessor(cfg, url, options.agent) : undefined;
  const sampler = processor ? buildSampler(options.sampler ?? samplerPlan(cfg)) : new AlwaysOffSampler();
  const provider = new NodeTracerProvider({ resource, sampler, spanProcessors: processor ? [processor] : [] });
  // The mesh's own spans (trace-context.ts) skip the SDK's span objects but not its sampler, processor
  // and exporter; the provider's tracer stays for any code that goes through the API.
  installMeshTracer(processor && cfg.spans === "lean" ? new LeanTracer({ processor, sampler, resource, scope: { name: TRACER_NAME } }) : undefined);
  // Contexts are passed explicitly; see sync-context-manager.ts for why not AsyncLocalStorage.
  // The propagator for any code that goes through the API; our own hops read and write traceparent
  // themselves (trace-context.ts).
  provider.register({ propagator: new W3CTraceContextPropagator(), contextManager: new SyncContextManager() });
  enablePropagation(true);
  return {
    shutdown: async () => {
      installMeshTracer(undefined);
      await provider.shutdown();
    },
  };
}

/**
 * Batching and export: protobuf spans are encoded as they end (encoding-span-processor.ts); JSON goes
 * through the SDK's BatchSpanProcessor and upstream exporter. Same OTEL_BSP_* settings either way.
 */
function spanProcessor(cfg: TracingConfig, url: string, agent?: () => http.Agent): SpanProcessor {
  const settings = batchSettings(cfg);
  if (tracesProtocol(cfg) === "http/protobuf") return new EncodingSpanProcessor(new OtlpHttpProtobufExporter({ url, agent: agent?.() }), settings);
  return new BatchSpanProcessor(otlpExporter("http/json", url, agent), settings);
}

/** The OTLP/HTTP span exporter for an encoding: our one-pass protobuf encoder, upstream's for JSON. */
export function otlpExporter(protocol: OtlpProtocol, url: string, agent?: () => http.Agent): SpanExporter {
  if (protocol === "http/protobuf") return new OtlpHttpProtobufExporter({ url, agent: agent?.() });
  return new OtlpJsonExporter({ url, ...(agent ? { httpAgentOptions: agent } : {}) });
}

function buildSampler(plan: SamplerPlan): Sampler {
  const root = plan.root === "on" ? new AlwaysOnSampler() : plan.root === "off" ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(plan.root.ratio);
  return plan.parentBased ? new ParentBasedSampler({ root }) : root;
}
