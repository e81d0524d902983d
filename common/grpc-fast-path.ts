// A fast path for unary gRPC calls with binary protobuf (what our services send each other and what
// standard gRPC clients send), taken before connect-node's generic handler. connect-node spends about
// half a millisecond of CPU per call on machinery a unary binary call does not need (web Headers, async
// iterables, linked abort signals); an invocation crosses four servers, so that decides the warm latency
// and the throughput of the whole mesh. Everything else (Connect, gRPC-Web, compressed or streaming
// calls) still goes to connect-node, and both run the same service implementations. The same path
// serves the `<Method>Stream` companions of unary methods (multiplexed-methods.ts): many calls as
// messages on one stream, each run by the unary implementation and answered when it ends.
// Wire behaviour follows the gRPC HTTP/2 protocol: length-prefixed message, grpc-timeout, status and
// percent-encoded message in trailers.
import type * as http2 from "node:http2";
import { create, isMessage, type DescMessage, type DescMethod, type DescMethodBiDiStreaming, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { EnvelopeParser } from "./grpc-frames.js";
import { decodeMessage } from "./protobuf-binary-decoder.js";
import { encodeEnvelope } from "./protobuf-binary-encoder.js";
import { multiplexedMethods } from "./multiplexed-methods.js";
import { MAX_TIMER_MS } from "./deadline-headers.js";

/** A service and its implementation, as given to serve(). */
export interface ServiceBinding {
  readonly service: DescService;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly impl: Record<string, any>;
}

interface UnaryRoute {
  readonly service: DescService;
  readonly method: DescMethod & { input: DescMessage; output: DescMessage };
  readonly impl: (req: unknown, ctx: HandlerContext) => unknown;
}

/** A `<Method>Stream` route: calls of the unary route, many on one stream (multiplexed-methods.ts). */
interface MultiplexedRoute {
  readonly unary: UnaryRoute;
  readonly stream: DescMethodBiDiStreaming;
}

/** One open multiplexed stream. */
interface Channel {
  inflight: number;
  /** The client has sent its last message. */
  ended: boolean;
  /** The server is stopping: new calls are refused, the stream ends once the running ones are answered. */
  draining: boolean;
  finished: boolean;
  readonly finish: () => void;
}

const GRPC_CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const RESERVED_HEADERS = /^(:|content-type$|content-length$|grpc-|te$|connection$|transfer-encoding$|keep-alive$|host$)/;

/**
 * Parses a grpc-timeout header ("250m", "1S") into milliseconds; undefined when absent or malformed.
 * At most MAX_TIMER_MS (a longer one would make a Node timer fire at once).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Math.min(Number(m[1]) * TIMEOUT_UNITS[m[2]], MAX_TIMER_MS);
}

/**
 * gRPC's percent-encoding of grpc-message: only '%' and bytes outside printable ASCII (0x20-0x7E) of the
 * UTF-8 text are encoded. (encodeURIComponent encodes more, and conforming decoders leave those escapes.)
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export class GrpcUnaryFastPath {
  readonly #routes = new Map<string, UnaryRoute>();
  readonly #multiplexed = new Map<string, MultiplexedRoute>();
  readonly #channels = new Set<Channel>();

  constructor(
    bindings: readonly ServiceBinding[],
    private readonly readMaxBytes: number,
  ) {
    for (const b of bindings) {
      for (const method of b.service.methods) {
        const impl = b.impl[method.localName];
        if (method.methodKind !== "unary" || typeof impl !== "function") continue;
        this.#routes.set(`/${b.service.typeName}/${method.name}`, { service: b.service, method: method as UnaryRoute["method"], impl: impl.bind(b.impl) });
      }
      for (const [name, m] of multiplexedMethods(b.service)) {
        const unary = this.#routes.get(`/${b.service.typeName}/${name}`);
        if (unary) this.#multiplexed.set(`/${b.service.typeName}/${m.stream.name}`, { unary, stream: m.stream });
      }
    }
  }

  /** Server stopping: every multiplexed stream refuses new calls and ends once its running calls are answered. */
  drain(): void {
    for (const c of this.#channels) {
      c.draining = true;
      c.finish();
    }
  }

  /** Takes the request when it is a uncompressed binary unary gRPC call to a known method; false otherwise. */
  tryHandle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): boolean {
    if (req.method !== "POST" || !GRPC_CONTENT_TYPES.has(req.headers["content-type"] ?? "")) return false;
    const encoding = req.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const multiplexed = this.#multiplexed.get(req.url);
    if (multiplexed) {
      this.#handleMultiplexed(multiplexed, req, res);
      return true;
    }
    const route = this.#routes.get(req.url);
    if (!route) return false;
    this.#handle(route, req, res);
    return true;
  }

  #handle(route: UnaryRoute, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.readMaxBytes + 5) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) return this.#fail(res, new ConnectError(`message size is larger than configured readMaxBytes ${this.readMaxBytes}`, Code.ResourceExhausted));
      void this.#run(route, req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on("error", () => {}); // a reset stream: nothing to answer
  }

  async #run(route: UnaryRoute, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, body: Buffer): Promise<void> {
    let input: unknown;
    try {
      input = this.#decode(route.method.input, body);
    } catch (err) {
      return this.#fail(res, ConnectError.from(err, Code.InvalidArgument));
    }
    const timeoutMs = parseGrpcTimeout(req.headers["grpc-timeout"] as string | undefined);
    // The abort signal is made only for handlers that ask for it: most never do, and it costs.
    let controller: AbortController | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const onClose = () => controller?.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    const signal = () => {
      if (!controller) {
        controller = new AbortController();
        req.stream.once("close", onClose);
        if (timeoutMs !== undefined) deadline = setTimeout(() => controller!.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
      }
      return controller.signal;
    };
    const ctx = new FastHandlerContext(route, req, signal, timeoutMs);
    try {
      const out = await route.impl(input, ctx);
      if (res.stream.destroyed) return;
      const message = isMessage(out, route.method.output) ? out : create(route.method.output, out as never);
      const frame = encodeEnvelope(route.method.output, message);
      res.writeHead(200, { "content-type": "application/grpc", ...ctx.responseHeaderRecord() });
      res.addTrailers({ "grpc-status": "0", ...ctx.responseTrailerRecord() });
      res.end(frame);
    } catch (err) {
      this.#fail(res, ConnectError.from(err), ctx);
    } finally {
      if (controller) {
        clearTimeout(deadline);
        req.stream.off("close", onClose);
      }
    }
  }

  #handleMultiplexed(route: MultiplexedRoute, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    // Bounds the stream's messages; each call's own limit is checked below, so that an oversize call
    // fails alone rather than ending the stream of everybody's calls.
    const parser = new EnvelopeParser(Math.max(this.readMaxBytes, 1024 * 1024) + 64);
    const { stream } = route;
    const channel: Channel = {
      inflight: 0,
      ended: false,
      draining: false,
      finished: false,
      finish: () => {
        if (channel.finished || channel.inflight > 0 || !(channel.ended || channel.draining)) return;
        channel.finished = true;
        this.#channels.delete(channel);
        if (res.stream.destroyed) return;
        res.addTrailers({ "grpc-status": "0" });
        res.end();
      },
    };
    this.#channels.add(channel);
    res.stream.once("close", () => this.#channels.delete(channel));
    res.writeHead(200, { "content-type": "application/grpc" });
    const failure = (callId: number, err: ConnectError) => encodeEnvelope(stream.output, create(stream.output, { callId, status: { code: err.code, message: err.rawMessage } } as never));
    const answer = (callId: number, response: unknown, err?: ConnectError) => {
      if (res.stream.destroyed || channel.finished) return;
      let frame: Buffer;
      if (err) frame = failure(callId, err);
      else {
        try {
          const message = isMessage(response, route.unary.method.output) ? response : create(route.unary.method.output, response as never);
          frame = encodeEnvelope(stream.output, create(stream.output, { callId, response: message } as never));
        } catch (e) {
          frame = failure(callId, new ConnectError(`the handler's answer cannot be encoded: ${(e as Error).message}`, Code.Internal));
        }
      }
      res.write(frame);
    };
    const call = (body: Buffer) => {
      let msg: { callId: number; request?: unknown; timeoutMs: number };
      try {
        msg = decodeMessage(stream.input, body) as never;
      } catch (err) {
        throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.InvalidArgument);
      }
      if (channel.draining) return answer(msg.callId, undefined, new ConnectError("the server is stopping", Code.Unavailable));
      if (body.length > this.readMaxBytes + 16) {
        return answer(msg.callId, undefined, new ConnectError(`message size ${body.length} is larger than configured readMaxBytes ${this.readMaxBytes}`, Code.ResourceExhausted));
      }
      channel.inflight++;
      const timeoutMs = msg.timeoutMs > 0 ? msg.timeoutMs : undefined;
      let signal: AbortSignal | undefined;
      const ctx = new FastHandlerContext(route.unary, req, () => (signal ??= AbortSignal.timeout(timeoutMs ?? 2 ** 31 - 1)), timeoutMs);
      const input = msg.request ?? create(route.unary.method.input);
      Promise.resolve()
        .then(() => route.unary.impl(input, ctx))
        .then(
          (out) => answer(msg.callId, out),
          (err: unknown) => answer(msg.callId, undefined, ConnectError.from(err)),
        )
        .finally(() => {
          channel.inflight--;
          channel.finish();
        });
    };
    req.on("data", (chunk: Buffer) => {
      if (channel.finished) return;
      try {
        for (const body of parser.push(chunk)) call(body);
      } catch (err) {
        // A malformed stream cannot be trusted for its other calls either: end it with the error.
        channel.finished = true;
        this.#channels.delete(channel);
        const e = ConnectError.from(err);
        if (!res.stream.destroyed) {
          res.addTrailers({ "grpc-status": String(e.code), "grpc-message": encodeGrpcMessage(e.rawMessage) });
          res.end();
        }
      }
    });
    req.on("end", () => {
      channel.ended = true;
      channel.finish();
    });
    req.on("error", () => {}); // a reset stream: nobody is left to answer
  }

  #decode(schema: DescMessage, body: Buffer): unknown {
    if (body.length < 5) throw new ConnectError("protocol error: incomplete message envelope", Code.InvalidArgument);
    if (body[0] !== 0) throw new ConnectError("protocol error: compressed message without grpc-encoding", Code.InvalidArgument);
    const length = body.readUInt32BE(1);
    if (length !== body.length - 5) throw new ConnectError(`protocol error: envelope says ${length} bytes, got ${body.length - 5}`, Code.InvalidArgument);
    if (length > this.readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`, Code.ResourceExhausted);
    try {
      return decodeMessage(schema, body.subarray(5));
    } catch (err) {
      throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.InvalidArgument);
    }
  }

  #fail(res: http2.Http2ServerResponse, err: ConnectError, ctx?: FastHandlerContext): void {
    if (res.stream.destroyed || res.headersSent) return;
    const trailers: Record<string, string> = { "grpc-status": String(err.code), "grpc-message": encodeGrpcMessage(err.rawMessage) };
    for (const [k, v] of err.metadata) if (!RESERVED_HEADERS.test(k)) trailers[k] = v;
    res.writeHead(200, { "content-type": "application/grpc", ...ctx?.responseHeaderRecord() });
    res.addTrailers(trailers);
    res.end();
  }
}

function headerRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    if (!RESERVED_HEADERS.test(k)) out[k] = v;
  });
  return out;
}

/**
 * The HandlerContext connect-node would give, built with only what a unary call needs. Headers are made
 * when a handler first reads or writes them: on the multiplexed hops no handler does, and two undici
 * Headers per call were a tenth of what the fast path allocated.
 */
class FastHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  readonly url: string;
  readonly #deadlineAt: number | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ReturnType<typeof createContextValues> | undefined;

  constructor(
    private readonly route: UnaryRoute,
    private readonly req: http2.Http2ServerRequest,
    private readonly signalOf: () => AbortSignal,
    timeoutMs: number | undefined,
  ) {
    this.url = req.url;
    this.#deadlineAt = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  get method() {
    return this.route.method;
  }
  get service() {
    return this.route.service;
  }
  get signal(): AbortSignal {
    return this.signalOf();
  }
  timeoutMs(): number | undefined {
    return this.#deadlineAt === undefined ? undefined : this.#deadlineAt - Date.now();
  }
  get requestHeader(): Headers {
    if (!this.#requestHeader) {
      this.#requestHeader = new Headers();
      for (const [k, v] of Object.entries(this.req.headers)) if (!k.startsWith(":") && v !== undefined) this.#requestHeader.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    return this.#requestHeader;
  }
  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }
  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }
  get values() {
    return (this.#values ??= createContextValues());
  }

  /** The response headers the handler set, as a record for http2 (none: an empty one). */
  responseHeaderRecord(): Record<string, string> {
    return this.#responseHeader ? headerRecord(this.#responseHeader) : {};
  }
  responseTrailerRecord(): Record<string, string> {
    return this.#responseTrailer ? headerRecord(this.#responseTrailer) : {};
  }
}
