// The client half of the unary fast path (see grpc-fast-path.ts): binary gRPC calls over one HTTP/2
// session per peer, TCP or Unix socket, without connect-es's per-call machinery. Failures are
// ConnectErrors with the gRPC status as their code, exactly what a connect client would throw, so
// callers do not know which path served them.
import * as http2 from "node:http2";
import * as net from "node:net";
import { create, isMessage, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { decodeMessage } from "./protobuf-binary-decoder.js";
import { encodeEnvelope } from "./protobuf-binary-encoder.js";

export interface UnaryClientOptions {
  /** Largest response message accepted. */
  readonly readMaxBytes?: number;
  /** Sent on every request (e.g. the mesh's internal secret). */
  readonly headers?: Readonly<Record<string, string>>;
}

const {
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_CONTENT_TYPE,
  HTTP2_HEADER_TE,
  NGHTTP2_CANCEL,
} = http2.constants;

export class GrpcUnaryClient {
  #session: http2.ClientHttp2Session | undefined;
  readonly #authority: string;
  readonly #socketPath: string | undefined;
  readonly #readMaxBytes: number;
  readonly #headers: Readonly<Record<string, string>>;
  #closed = false;
  /** Calls in flight: while there are any the session keeps the process alive, and not otherwise. */
  #active = 0;

  /** url: "http://host:port" or "unix:/path/to.sock". */
  constructor(url: string, options: UnaryClientOptions = {}) {
    this.#socketPath = url.startsWith("unix:") ? url.slice("unix:".length) : undefined;
    this.#authority = this.#socketPath ? "http://localhost" : url;
    this.#readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
    this.#headers = options.headers ?? {};
  }

  call<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, input: MessageInitShape<I>, options: CallOptions = {}): Promise<MessageShape<O>> {
    if (this.#closed) return Promise.reject(new ConnectError("client closed", Code.Canceled));
    const message = isMessage(input, method.input) ? input : create(method.input, input as never);
    const frame = encodeEnvelope(method.input, message as MessageShape<I>);

    const headers: http2.OutgoingHttpHeaders = {
      ...this.#headers,
      [HTTP2_HEADER_METHOD]: "POST",
      [HTTP2_HEADER_PATH]: `/${method.parent.typeName}/${method.name}`,
      [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [HTTP2_HEADER_TE]: "trailers",
    };
    if (options.timeoutMs !== undefined) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(options.timeoutMs))}m`;
    if (options.headers) new Headers(options.headers).forEach((v, k) => (headers[k] = v));

    return new Promise<MessageShape<O>>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      let session: http2.ClientHttp2Session;
      try {
        session = this.#getSession();
        stream = session.request(headers);
      } catch (err) {
        this.#drop();
        return reject(new ConnectError(`cannot reach ${this.#socketPath ?? this.#authority}: ${(err as Error).message}`, Code.Unavailable));
      }
      if (this.#active++ === 0) session.ref();
      let settled = false;
      const finish = (err: ConnectError | undefined, value?: MessageShape<O>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(value!);
      };
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              stream.close(NGHTTP2_CANCEL);
              finish(new ConnectError("the operation timed out", Code.DeadlineExceeded));
            }, options.timeoutMs);
      const onAbort = () => {
        stream.close(NGHTTP2_CANCEL);
        finish(new ConnectError("the operation was aborted", Code.Canceled));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });

      const chunks: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      let statusMessage = "";
      let httpStatus = 0;
      const readStatus = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          statusMessage = decodeGrpcMessage(String(h["grpc-message"] ?? ""));
        }
      };
      stream.on("response", (h) => {
        httpStatus = Number(h[":status"]);
        readStatus(h);
      });
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.#readMaxBytes + 5) {
          stream.close(NGHTTP2_CANCEL);
          finish(new ConnectError(`response larger than ${this.#readMaxBytes} bytes`, Code.ResourceExhausted));
        } else chunks.push(chunk);
      });
      stream.on("error", (err) => finish(new ConnectError(`call to ${this.#socketPath ?? this.#authority} failed: ${err.message}`, Code.Unavailable)));
      stream.on("close", () => {
        if (--this.#active === 0 && !session.destroyed) session.unref();
        if (settled) return;
        if (status === undefined) {
          const why = httpStatus && httpStatus !== 200 ? `HTTP status ${httpStatus}` : `stream closed without a status (code ${stream.rstCode})`;
          return finish(new ConnectError(`call to ${this.#socketPath ?? this.#authority}: ${why}`, Code.Unavailable));
        }
        if (status !== "0") return finish(new ConnectError(statusMessage, Number(status) as Code));
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          return finish(new ConnectError("protocol error: malformed response message", Code.Internal));
        }
        try {
          finish(undefined, decodeMessage(method.output, body.subarray(5)));
        } catch (err) {
          finish(new ConnectError(`parse binary: ${(err as Error).message}`, Code.Internal));
        }
      });
      stream.end(frame);
    });
  }

  /**
   * Opens a streaming call on the peer's session (for multiplexed-client.ts). The session keeps the
   * process alive until the returned release is called, as it does for a unary call in flight.
   */
  openStream(path: string): { stream: http2.ClientHttp2Stream; retain: () => () => void } {
    if (this.#closed) throw new ConnectError("client closed", Code.Canceled);
    let session: http2.ClientHttp2Session;
    let stream: http2.ClientHttp2Stream;
    try {
      session = this.#getSession();
      stream = session.request({
        ...this.#headers,
        [HTTP2_HEADER_METHOD]: "POST",
        [HTTP2_HEADER_PATH]: path,
        [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
        [HTTP2_HEADER_TE]: "trailers",
      });
    } catch (err) {
      this.#drop();
      throw new ConnectError(`cannot reach ${this.#socketPath ?? this.#authority}: ${(err as Error).message}`, Code.Unavailable);
    }
    const retain = () => {
      if (this.#active++ === 0 && !session.destroyed) session.ref();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--this.#active === 0 && !session.destroyed) session.unref();
      };
    };
    return { stream, retain };
  }

  /** Where calls go, for error messages. */
  get peer(): string {
    return this.#socketPath ?? this.#authority;
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #getSession(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    const socketPath = this.#socketPath;
    const { hostname, port } = new URL(this.#authority);
    // TCP_NODELAY: a call is several small HTTP/2 frames; Nagle would hold the later ones back until the
    // peer's delayed ACK, milliseconds per hop.
    const connect = socketPath ? () => net.connect(socketPath) : () => net.connect({ host: hostname, port: Number(port), noDelay: true });
    const session = http2.connect(this.#authority, { createConnection: connect });
    session.on("error", () => this.#drop(session));
    session.on("goaway", () => this.#drop(session));
    session.on("close", () => this.#drop(session));
    // An idle session must not keep the process alive; calls ref it while they run.
    if (this.#active === 0) session.unref();
    this.#session = session;
    return session;
  }

  #drop(session = this.#session): void {
    if (!session || this.#session !== session) return;
    this.#session = undefined;
    if (!session.closed) session.close();
  }
}

/** grpc-message as sent (percent-encoded), back to text; a malformed escape leaves the value as it is. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
