// The client half of a `<Method>Stream` (multiplexed-methods.ts): calls of a unary method sent as
// messages on one long-lived stream per peer, each answered by its call_id whenever it ends. Callers see
// exactly what a unary call gives them: the response, or a ConnectError with the call's code. A call
// whose message is large goes as a plain unary call, so that it cannot hold up the small ones queued
// behind it on the shared stream.
import type * as http2 from "node:http2";
import { create, isMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { EnvelopeParser } from "./grpc-frames.js";
import { decodeMessage } from "./protobuf-binary-decoder.js";
import { encodeEnvelope } from "./protobuf-binary-encoder.js";
import { decodeGrpcMessage, type GrpcUnaryClient } from "./grpc-unary-client.js";
import type { MultiplexedMethod } from "./multiplexed-methods.js";

/** Messages above this go as unary calls of their own. */
const MAX_SHARED_MESSAGE_BYTES = 64 * 1024;
const NGHTTP2_CANCEL = 8;

interface Pending {
  readonly request: unknown;
  readonly options: CallOptions;
  readonly resolve: (value: never) => void;
  readonly reject: (err: ConnectError) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

interface OpenStream {
  readonly stream: http2.ClientHttp2Stream;
  readonly pending: Map<number, Pending>;
  release: (() => void) | undefined;
  readonly retain: () => () => void;
}

export class MultiplexedCaller {
  #open: OpenStream | undefined;
  /** The peer answered the stream method with UNIMPLEMENTED (an older peer): unary calls only. */
  #unsupported = false;
  #nextId = 0;

  constructor(
    private readonly client: GrpcUnaryClient,
    private readonly method: MultiplexedMethod,
    private readonly readMaxBytes = 4 * 1024 * 1024,
  ) {}

  call(input: MessageInitShape<MultiplexedMethod["unary"]["input"]>, options: CallOptions = {}): Promise<MessageShape<MultiplexedMethod["unary"]["output"]>> {
    const { unary, stream: streamMethod } = this.method;
    // Per-call metadata or cancellation needs a call of its own.
    if (options.signal || options.headers || this.#unsupported) return this.client.call(unary, input, options);
    const request = isMessage(input, unary.input) ? input : create(unary.input, input as never);
    this.#nextId = (this.#nextId + 1) >>> 0;
    const callId = this.#nextId;
    const timeoutMs = options.timeoutMs === undefined ? 0 : Math.max(1, Math.ceil(options.timeoutMs));
    const frame = encodeEnvelope(streamMethod.input, create(streamMethod.input, { callId, request, timeoutMs } as never));
    if (frame.length - 5 > MAX_SHARED_MESSAGE_BYTES) return this.client.call(unary, request, options);
    let open: OpenStream;
    try {
      open = this.#open ?? this.#start();
    } catch (err) {
      return Promise.reject(ConnectError.from(err, Code.Unavailable));
    }
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === 0
          ? undefined
          : setTimeout(() => {
              if (open.pending.delete(callId)) this.#idle(open);
              reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
            }, timeoutMs);
      open.pending.set(callId, { request, options, resolve: resolve as (value: never) => void, reject, timer });
      open.release ??= open.retain();
      open.stream.write(frame);
    });
  }

  close(): void {
    this.#open?.stream.close(NGHTTP2_CANCEL);
  }

  #start(): OpenStream {
    const { unary, stream: streamMethod } = this.method;
    const { stream, retain } = this.client.openStream(`/${streamMethod.parent.typeName}/${streamMethod.name}`);
    const open: OpenStream = { stream, pending: new Map(), release: undefined, retain };
    this.#open = open;
    // The stream's bound is generous; each answer's own limit is checked below, so that an oversize
    // answer fails its call alone instead of the stream and every call on it.
    const parser = new EnvelopeParser(Math.max(this.readMaxBytes, 256 * 1024 * 1024) + 64);
    let status: string | undefined;
    let statusMessage = "";
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] === undefined) return;
      status = String(h["grpc-status"]);
      statusMessage = String(h["grpc-message"] ?? "");
    };
    stream.on("response", readStatus);
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = parser.push(chunk);
      } catch (err) {
        stream.close(NGHTTP2_CANCEL);
        status = String(ConnectError.from(err).code);
        statusMessage = ConnectError.from(err).rawMessage;
        return;
      }
      for (const body of bodies) {
        let msg: { callId: number; response?: unknown; status?: { code: number; message: string } };
        try {
          msg = decodeMessage(streamMethod.output, body) as never;
        } catch {
          continue; // unreadable: its caller times out or fails with the stream
        }
        if (body.length > this.readMaxBytes + 16) {
          msg = { callId: msg.callId, status: { code: Code.ResourceExhausted, message: `response larger than ${this.readMaxBytes} bytes` } };
        }
        const p = open.pending.get(msg.callId);
        if (!p) continue; // timed out already
        open.pending.delete(msg.callId);
        clearTimeout(p.timer);
        if (msg.status) p.reject(new ConnectError(msg.status.message, msg.status.code as Code));
        else p.resolve((msg.response ?? create(unary.output)) as never);
        this.#idle(open);
      }
    });
    stream.on("error", () => {}); // "close" follows and fails what is pending
    // The server ended its side (it is stopping, or failed the stream): end ours, so the stream closes.
    stream.on("end", () => stream.close());
    stream.on("close", () => {
      if (this.#open === open) this.#open = undefined;
      const why =
        status === undefined || status === "0"
          ? `the call stream to ${this.client.peer} closed (code ${stream.rstCode})`
          : `the call stream to ${this.client.peer} failed: ${decodeGrpcMessage(statusMessage)}`;
      if (status === String(Code.Unimplemented)) this.#unsupported = true;
      for (const p of open.pending.values()) {
        clearTimeout(p.timer);
        if (this.#unsupported) {
          this.client.call(unary, p.request as never, p.options).then(p.resolve as never, p.reject);
          continue;
        }
        p.reject(new ConnectError(why, status && status !== "0" ? (Number(status) as Code) : Code.Unavailable));
      }
      open.pending.clear();
      open.release?.();
      open.release = undefined;
    });
    return open;
  }

  /** With nothing pending the stream must not keep the process alive. */
  #idle(open: OpenStream): void {
    if (open.pending.size === 0 && open.release) {
      open.release();
      open.release = undefined;
    }
  }
}
