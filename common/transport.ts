// gRPC clients between services: HTTP/2 (h2c) over TCP or a Unix socket, one multiplexed session per peer.
import * as net from "node:net";
import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { GrpcUnaryClient } from "./grpc-unary-client.js";
import { INTERNAL_SECRET_HEADER } from "./internal-auth.js";
import { MultiplexedCaller } from "./multiplexed-client.js";
import { multiplexedMethods } from "./multiplexed-methods.js";

export interface PeerOptions {
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
  /** The mesh's FAAS_INTERNAL_SECRET, sent on every call when set. */
  readonly internalSecret?: string;
}

export interface Peer<S extends DescService> {
  readonly client: Client<S>;
  /** Closes the HTTP/2 session; the client must not be used afterwards. */
  close(): void;
}

/**
 * url: "http://host:port" or "unix:/path/to.sock". Unary methods go through the lean gRPC client of the
 * fast path (grpc-unary-client.ts), those with a `<Method>Stream` companion as messages on one shared
 * stream (multiplexed-client.ts), streaming methods through connect-es; all speak gRPC on the wire.
 */
export function connectPeer<S extends DescService>(service: S, url: string, options: PeerOptions = {}): Peer<S> {
  const secret = options.internalSecret;
  const socketPath = url.startsWith("unix:") ? url.slice("unix:".length) : undefined;
  const baseUrl = socketPath ? "http://localhost" : url;
  const { hostname, port } = new URL(baseUrl);
  const sessionManager = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 30_000, pingIdleConnection: false, idleConnectionTimeoutMs: 5 * 60_000 },
    { createConnection: socketPath ? () => net.connect(socketPath) : () => net.connect({ host: hostname, port: Number(port), noDelay: true }) },
  );
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    interceptors: secret ? [(next) => (req) => (req.header.set(INTERNAL_SECRET_HEADER, secret), next(req))] : [],
  });
  const client = createClient(service, transport) as Record<string, unknown>;
  const unary = new GrpcUnaryClient(url, { readMaxBytes: options.readMaxBytes, headers: secret ? { [INTERNAL_SECRET_HEADER]: secret } : undefined });
  const multiplexed = multiplexedMethods(service);
  const callers: MultiplexedCaller[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const unaryMethod = method as DescMethodUnary;
    const pair = multiplexed.get(method.name);
    if (pair) {
      const caller = new MultiplexedCaller(unary, pair, options.readMaxBytes);
      callers.push(caller);
      client[method.localName] = (req: never, callOptions?: CallOptions) => caller.call(req, callOptions);
    } else {
      client[method.localName] = (req: never, callOptions?: CallOptions) => unary.call(unaryMethod, req, callOptions);
    }
  }
  return {
    client: client as Client<S>,
    close: () => {
      for (const c of callers) c.close();
      unary.close();
      sessionManager.abort();
    },
  };
}
