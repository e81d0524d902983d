// Precise codes for bad requests on the connect-node path (the fast path in grpc-fast-path.ts already
// answers them so). Found by the gateway fuzzer (loadgen/fuzz/):
// - connect-es answers a request message that does not decode ("parse binary: premature EOF"), a
//   compressed flag without grpc-encoding, and a body that does not decompress with INTERNAL: the code
//   of a server fault, not of a caller's bad bytes. They become INVALID_ARGUMENT, message kept, in each
//   protocol's form (Connect's JSON error body and HTTP status, gRPC's trailers, gRPC-Web's trailer frame).
// - an unknown path got HTTP 404 whatever the protocol; a gRPC or gRPC-Web call now gets grpc-status
//   UNIMPLEMENTED (trailers-only), as gRPC servers answer an unknown method. Connect keeps the 404 its
//   spec asks for.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { encodeGrpcMessage } from "./grpc-fast-path.js";

/** connect-es's messages for request bytes that do not decode, which it gives code INTERNAL. */
const DECODE_FAILURE = /^(parse binary: |received compressed envelope, but do not know how to decompress|decompression failed)/;

const INTERNAL = String(Code.Internal);
const INVALID_ARGUMENT = String(Code.InvalidArgument);

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A gRPC trailer (Headers) that says INTERNAL for undecodable input says INVALID_ARGUMENT instead. */
function fixTrailer(trailer: Headers | undefined): void {
  if (trailer?.get("grpc-status") === INTERNAL && DECODE_FAILURE.test(percentDecoded(trailer.get("grpc-message") ?? ""))) {
    trailer.set("grpc-status", INVALID_ARGUMENT);
  }
}

/** The same for the trailer frames (flag 0x80) of a gRPC-Web body chunk; other bytes pass unchanged. */
function fixGrpcWebChunk(chunk: Uint8Array): Uint8Array {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const parts: Buffer[] = [];
  let changed = false;
  for (let pos = 0; pos < buf.length; ) {
    if (buf.length - pos < 5) return chunk;
    const length = buf.readUInt32BE(pos + 1);
    if (buf.length - pos - 5 < length) return chunk;
    let frame = buf.subarray(pos, pos + 5 + length);
    if (frame[0] === 0x80) {
      const text = frame.subarray(5).toString("latin1");
      const status = /(^|\r\n)grpc-status: ?(\d+)\r\n/i.exec(text)?.[2];
      const message = /(^|\r\n)grpc-message: ?([^\r]*)\r\n/i.exec(text)?.[2] ?? "";
      if (status === INTERNAL && DECODE_FAILURE.test(percentDecoded(message))) {
        const fixed = Buffer.from(text.replace(/(^|\r\n)(grpc-status: ?)\d+/i, `$1$2${INVALID_ARGUMENT}`), "latin1");
        const head = Buffer.alloc(5);
        head[0] = 0x80;
        head.writeUInt32BE(fixed.length, 1);
        frame = Buffer.concat([head, fixed]);
        changed = true;
      }
    }
    parts.push(frame);
    pos += 5 + length;
  }
  return changed ? Buffer.concat(parts) : chunk;
}

async function* mapBody(body: AsyncIterable<Uint8Array>, chunk: (c: Uint8Array) => Uint8Array, atEnd: () => void): AsyncIterable<Uint8Array> {
  for await (const c of body) yield chunk(c);
  atEnd();
}

async function fixConnectError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const c of res.body!) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  const same = { ...res, body: (async function* () { yield bytes; })() };
  let err: { code?: unknown; message?: unknown };
  try {
    err = JSON.parse(bytes.toString("utf8"));
  } catch {
    return same;
  }
  if (err?.code !== "internal" || typeof err.message !== "string" || !DECODE_FAILURE.test(err.message)) return same;
  const fixed = Buffer.from(JSON.stringify({ ...err, code: "invalid_argument" }));
  const header = new Headers(res.header);
  header.set("content-length", String(fixed.length));
  return { ...res, status: 400, header, body: (async function* () { yield fixed; })() };
}

/** The answer with INTERNAL for undecodable input turned into INVALID_ARGUMENT. */
async function preciseAnswer(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const contentType = res.header?.get("content-type") ?? "";
  if (!res.body) {
    fixTrailer(res.trailer);
    return res;
  }
  if (contentType.startsWith("application/grpc-web")) return { ...res, body: mapBody(res.body, fixGrpcWebChunk, () => {}) };
  if (contentType.startsWith("application/grpc")) {
    fixTrailer(res.trailer);
    return { ...res, body: mapBody(res.body, (c) => c, () => fixTrailer(res.trailer)) };
  }
  // Connect unary: an error is a JSON body with an HTTP error status (encoded uncompressed: it is small).
  if (res.status === 500 && contentType.startsWith("application/json") && !res.header?.get("content-encoding")) return fixConnectError(res);
  return res;
}

/** Wraps every handler of a connect router (ConnectRouter.handlers, before connectNodeAdapter reads them). */
export function preciseDecodeErrors(handlers: UniversalHandler[]): void {
  for (let i = 0; i < handlers.length; i++) {
    const h = handlers[i];
    const wrapped = async (req: Parameters<UniversalHandler>[0]) => preciseAnswer(await h(req));
    handlers[i] = Object.assign(wrapped, {
      protocolNames: h.protocolNames,
      service: h.service,
      method: h.method,
      requestPath: h.requestPath,
      allowedMethods: h.allowedMethods,
      supportedContentType: h.supportedContentType,
    });
  }
}

/** connect-node's fallback for a path no procedure has: UNIMPLEMENTED for gRPC and gRPC-Web, 404 otherwise. */
export function unknownProcedure(req: http.IncomingMessage | http2.Http2ServerRequest, out: { writeHead(status: number, headers?: Record<string, string>): unknown; end(): unknown }): void {
  const contentType = String(req.headers["content-type"] ?? "");
  if (contentType.startsWith("application/grpc")) {
    const path = (req.url ?? "").split("?")[0].slice(0, 200);
    // Trailers-only: the status in the headers of an empty answer (gRPC-Web clients read it there too).
    out.writeHead(200, { "content-type": contentType.split(";")[0], "grpc-status": String(Code.Unimplemented), "grpc-message": encodeGrpcMessage(`unknown procedure ${path}`) });
    out.end();
    return;
  }
  out.writeHead(404);
  out.end();
}
