// One listener per service that speaks gRPC, gRPC-Web and Connect (HTTP/1.1 and h2c) on the same port:
// the first bytes of each connection tell HTTP/2 prior knowledge ("PRI * HTTP/2.0") from HTTP/1.1.
// Also serves plain-HTTP GET routes (/healthz, later /metrics) and the standard grpc.health.v1 service.
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { GrpcUnaryFastPath, type ServiceBinding } from "./grpc-fast-path.js";
import type { Logger } from "./logger.js";
import { HealthStatus, registerHealthService } from "./health.js";
import { preciseDecodeErrors, unknownProcedure } from "./precise-errors.js";
import { drainAbandonedBody } from "./http1-unread-body.js";
import { clampDeadlineHeaders } from "./deadline-headers.js";
import { INTERNAL_SECRET_HEADER } from "./internal-auth.js";
import { secretChecker } from "./secret-check.js";

export type { ServiceBinding };

/** A service and its implementation, for serve(). */
export function bind<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): ServiceBinding {
  return { service, impl };
}

export type HttpRoute = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface ServeOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly services: readonly ServiceBinding[];
  /** TCP listen address; ignored when socketPath is set. */
  readonly host?: string;
  readonly port?: number;
  /** Listen on a Unix socket instead of TCP. */
  readonly socketPath?: string;
  /** Largest accepted request message. Default 4 MiB. */
  readonly readMaxBytes?: number;
  readonly httpRoutes?: Record<string, HttpRoute>;
  /** Served as GET /metrics (a prom-client Registry; structural, so the sidecar's bundle has no prom-client). */
  readonly metrics?: MetricsSource;
  /** When set, every call must carry it in the faas-internal-secret header (internal-auth.ts); GET routes need none. */
  readonly internalSecret?: string;
}

export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

function metricsRoute(source: MetricsSource): HttpRoute {
  return (_req, res) => {
    source.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": source.contentType });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`metrics failed: ${err.message}\n`);
      },
    );
  };
}

export interface RunningServer {
  /** Base URL clients use: "http://127.0.0.1:PORT", or "unix:PATH". */
  readonly url: string;
  readonly port: number;
  readonly health: HealthStatus;
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then drops connections. */
  close(graceMs?: number): Promise<void>;
}

const H2_PREFACE_START = Buffer.from("PRI");
/** Flow-control windows of the HTTP/2 server: per stream, and per connection. */
const H2_STREAM_WINDOW = 1 << 20;
const H2_CONNECTION_WINDOW = 16 << 20;

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const health = new HealthStatus();
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const adapter = connectNodeAdapter({
    routes: (router) => {
      registerHealthService(router, health);
      for (const b of options.services) router.service(b.service, b.impl);
      preciseDecodeErrors(router.handlers);
    },
    fallback: unknownProcedure,
    readMaxBytes,
  });
  const fastPath = new GrpcUnaryFastPath(options.services, readMaxBytes);
  const httpRoutes: Record<string, HttpRoute> = {
    "/healthz": (_req, res) => {
      const ok = health.serving;
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(ok ? "ok\n" : "not serving\n");
    },
    ...(options.metrics && { "/metrics": metricsRoute(options.metrics) }),
    ...options.httpRoutes,
  };
  const secretOk = options.internalSecret ? secretChecker(options.internalSecret) : undefined;
  const handle = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (req.method === "GET") {
      const path = (req.url ?? "").split("?")[0];
      const route = httpRoutes[path];
      if (route) return route(req, res);
    }
    if (secretOk && !secretOk(req.headers[INTERNAL_SECRET_HEADER])) return (req.resume(), refuse(res, String(req.headers["content-type"] ?? "")));
    if (req.httpVersionMajor === 2 && fastPath.tryHandle(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse)) return;
    if (req.httpVersionMajor === 1) drainAbandonedBody(req as http.IncomingMessage, res as http.ServerResponse);
    clampDeadlineHeaders(req.headers);
    adapter(req as http.IncomingMessage, res as http.ServerResponse);
  };

  const h1 = http.createServer(handle);
  h1.keepAliveTimeout = 65_000;
  // HTTP/2's default 64 KiB flow-control windows cost a round trip through our event loop per 64 KiB of
  // a request: under load a 3 MiB message took seconds (10 s and more in the gateway fuzzer's runs).
  const h2 = http2.createServer({ settings: { initialWindowSize: H2_STREAM_WINDOW } }, handle);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    s.setLocalWindowSize(H2_CONNECTION_WINDOW);
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();

  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < H2_PREFACE_START.length && H2_PREFACE_START.subarray(0, head.length).equals(head)) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      // Both servers take over reading: http2 drains the unshifted bytes itself, http1 resumes the stream.
      const isH2 = head.subarray(0, 3).equals(H2_PREFACE_START);
      (isH2 ? h2 : h1).emit("connection", socket);
      if (!isH2) socket.resume();
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });

  if (options.socketPath) {
    fs.rmSync(options.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(options.socketPath, () => resolve());
    });
  } else {
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
  }
  // http.Server tracks its connections (for closeIdleConnections and the headers/request timeouts) only
  // from its own 'listening' event; ours is handed sockets by the shared listener and never listens.
  h1.emit("listening");
  const addr = listener.address();
  const boundPort = typeof addr === "object" && addr ? addr.port : 0;
  const url = options.socketPath ? `unix:${options.socketPath}` : `http://${options.host ?? "127.0.0.1"}:${boundPort}`;
  health.set(true);
  options.logger.info({ url }, `${options.name} listening`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    health,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        health.set(false);
        fastPath.drain();
        const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
        // Ask HTTP/2 clients to stop opening streams; HTTP/1.1 idle keep-alive sockets close now.
        for (const s of sessions) s.close();
        h1.closeIdleConnections();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        await closed;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

/** UNAUTHENTICATED in the caller's protocol: a gRPC status in trailers, or Connect's JSON error. */
function refuse(res: http.ServerResponse | http2.Http2ServerResponse, contentType: string): void {
  const message = "this service takes calls from the mesh only: missing or wrong faas-internal-secret";
  const out = res as http.ServerResponse;
  if (contentType.startsWith("application/grpc")) {
    // Status in trailers, not a trailers-only HEADERS frame: the compat API's end() sends those as headers
    // plus an empty DATA frame, which gRPC clients read as a call ended without a status.
    out.writeHead(200, { "content-type": contentType });
    out.addTrailers({ "grpc-status": "16", "grpc-message": encodeURIComponent(message) });
    out.end();
  } else {
    out.writeHead(401, { "content-type": "application/json" });
    out.end(JSON.stringify({ code: "unauthenticated", message }));
  }
}
