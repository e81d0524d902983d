// The sidecar's OpenTelemetry SDK: bundled as a file of its own (dist/sidecar-bundle/tracing.js) and
// loaded by tracing-loader.ts only when node-manager relays spans. The container has no network, so the
// exporter's connections go to node-manager's OTLP relay socket, bind-mounted into the container.
import * as http from "node:http";
import * as net from "node:net";
import { startTracing, type TracingHandle } from "../common/tracing.js";
import { loadTracingConfig } from "../common/tracing-config.js";

/** An HTTP agent whose every connection is to one Unix socket. */
class UnixSocketAgent extends http.Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true });
  }

  override createConnection(): net.Socket {
    return net.connect(this.socketPath);
  }
}

export function startRelayedTracing(socketPath: string): TracingHandle {
  return startTracing("sidecar", {
    // The container's environment is the function's: the sidecar takes the defaults and node-manager's relay.
    config: loadTracingConfig({}),
    // The host part is not used: the agent connects to the socket.
    url: "http://otlp-relay/v1/traces",
    agent: () => new UnixSocketAgent(socketPath),
    // The sidecar never starts a trace: it records the spans of invocations whose caller sampled them.
    sampler: { root: "off", parentBased: true },
  });
}
