// gRPC clients between services: HTTP/2 (h2c) over TCP or a Unix socket, one multiplexed session per peer.
import * as net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

export interface PeerOptions {
  readonly interceptors?: Interceptor[];
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
}

export interface Peer<S extends DescService> {
  readonly client: Client<S>;
  /** Closes the HTTP/2 session; the client must not be used afterwards. */
  close(): void;
}

/** url: "http://host:port" or "unix:/path/to.sock". */
export function connectPeer<S extends DescService>(service: S, url: string, options: PeerOptions = {}): Peer<S> {
  const socketPath = url.startsWith("unix:") ? url.slice("unix:".length) : undefined;
  const baseUrl = socketPath ? "http://localhost" : url;
  const sessionManager = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 30_000, pingIdleConnection: false, idleConnectionTimeoutMs: 5 * 60_000 },
    socketPath ? { createConnection: () => net.connect(socketPath) } : {},
  );
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
  });
  return {
    client: createClient(service, transport),
    close: () => sessionManager.abort(),
  };
}
