// Loads the sidecar's OpenTelemetry SDK (tracing.ts, a bundle file of its own) only when node-manager
// gives the container an OTLP relay socket: a sidecar without tracing does not parse the SDK at boot.
import type { TracingHandle } from "../common/tracing.js";

/** undefined: no relay, no tracing. */
export async function startSidecarTracing(otlpSocket: string): Promise<TracingHandle | undefined> {
  if (!otlpSocket) return undefined;
  // A computed specifier: the bundler leaves it alone, so the SDK stays in its own file.
  const url = new URL("./tracing.js", import.meta.url).href;
  const mod = (await import(url)) as { startRelayedTracing?: (s: string) => TracingHandle; default?: { startRelayedTracing: (s: string) => TracingHandle } };
  const start = mod.startRelayedTracing ?? mod.default!.startRelayedTracing;
  return start(otlpSocket);
}
