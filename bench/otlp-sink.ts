// What the tracing benchmarks export to: an OTLP/HTTP traces endpoint in the bench process (a collector's
// receiving end, without its storage), and the OTEL_* settings of each tracing mode they compare.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export const TRACING_MODES = ["off", "unsampled", "sampled", "all", "sampled-sdk", "all-sdk"] as const;
/**
 * off: no SDK at all (OTEL_SDK_DISABLED); unsampled: the SDK on, nothing recorded (always_off);
 * sampled: the default, parent-based with 10% of new traces; all: every trace (parentbased_always_on);
 * the -sdk ones: the same with the SDK's own span objects instead of the mesh's lean ones.
 */
export type TracingMode = (typeof TRACING_MODES)[number];

export function isTracingMode(m: string): m is TracingMode {
  return (TRACING_MODES as readonly string[]).includes(m);
}

/** The environment that puts every process of a mesh in a tracing mode, exporting to endpoint. */
export function tracingModeEnv(mode: TracingMode, endpoint: string): Record<string, string> {
  if (mode === "off") return { OTEL_SDK_DISABLED: "true" };
  if (mode === "unsampled") return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_off" };
  const spans: Record<string, string> = mode.endsWith("-sdk") ? { FAAS_TRACING_SPANS: "sdk" } : {};
  const sampler = mode.startsWith("all") ? "parentbased_always_on" : "parentbased_traceidratio";
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: "0.1", ...spans };
}

export interface OtlpSink {
  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Export requests received so far. */
  exports(): number;
  /** Their body bytes. */
  bytes(): number;
  close(): void;
}

/** Reads every export and counts it; answers in the request's encoding (an empty protobuf message is zero bytes). */
export async function startOtlpSink(): Promise<OtlpSink> {
  let exports = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      exports++;
      const protobuf = req.headers["content-type"]?.startsWith("application/x-protobuf");
      res.writeHead(200, { "content-type": protobuf ? "application/x-protobuf" : "application/json" }).end(protobuf ? "" : "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    bytes: () => bytes,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
