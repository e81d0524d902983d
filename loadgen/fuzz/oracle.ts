// Judges an answer: complete, in time, and carrying a precise code in the caller's protocol. gRPC and
// gRPC-Web: HTTP 200 with a grpc-status of 0-16 (in trailers, trailers-only headers, or gRPC-Web's
// trailer frame), an OK one with exactly one decodable message. Connect: HTTP 200 with a decodable
// message, or an error status with a JSON body {code} whose code is known and matches the HTTP status.
// HTTP-level answers without a protocol status only where the case says the protocol allows them
// (404 unknown procedure, 405 method, 415 content type). UNKNOWN, INTERNAL and DATA_LOSS are never
// right for bad input: they are findings.
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { fromBinary, fromJsonString, type DescMessage } from "@bufbuild/protobuf";
import type { FuzzCase } from "./cases.js";
import { parseFrames } from "./framing.js";
import type { RawAnswer } from "./transport.js";

/** gRPC's codes by number, in Connect's spelling (which the distribution uses for every protocol). */
export const CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;

/** Codes that say "the server broke", never a precise answer to a bad request. */
export const IMPRECISE_CODES = new Set(["unknown", "internal", "data_loss"]);

/** Connect's HTTP status for each error code (connect protocol, "Error Codes"). */
const CONNECT_HTTP_STATUS: Record<string, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

export interface Verdict {
  /** The code the answer carries ("invalid_argument"), "http_415" for an allowed HTTP-level answer, or "none". */
  readonly code: string;
  /** Why the answer is wrong; undefined when it is right. */
  readonly problem?: string;
  readonly hang: boolean;
  /** The error message the answer carried (grpc-message, Connect's message), for the report. */
  readonly message?: string;
}

function decodes(schema: DescMessage | undefined, bytes: Buffer, json: boolean): string | undefined {
  if (!schema) return undefined;
  try {
    if (json) fromJsonString(schema, bytes.toString("utf8"), { ignoreUnknownFields: true });
    else fromBinary(schema, bytes);
    return undefined;
  } catch (err) {
    return `the OK answer does not decode as ${schema.typeName}: ${(err as Error).message}`;
  }
}

/** Undoes the compression the server chose from what the request accepted (gzip, br); throws on anything else. */
function decompress(encoding: string, bytes: Buffer): Buffer {
  if (encoding === "gzip") return gunzipSync(bytes);
  if (encoding === "br") return brotliDecompressSync(bytes);
  throw new Error(`unknown encoding ${encoding}`);
}

function grpcVerdict(c: FuzzCase, a: RawAnswer, web: boolean): Verdict {
  if (a.status !== 200) return { code: `http_${a.status}`, problem: `${web ? "gRPC-Web" : "gRPC"} call answered HTTP ${a.status} without a grpc-status`, hang: false };
  let body = a.body;
  if (a.headers["content-type"]?.startsWith("application/grpc-web-text")) body = Buffer.from(body.toString("latin1"), "base64");
  const frames = parseFrames(body);
  const raw = a.trailers["grpc-status"] ?? frames.trailers["grpc-status"] ?? a.headers["grpc-status"];
  if (raw === undefined) return { code: "none", problem: "no grpc-status in headers or trailers", hang: false };
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 16) return { code: "none", problem: `grpc-status ${JSON.stringify(raw)} is not a code 0-16`, hang: false };
  const code = CODE_NAMES[Number(raw)];
  if (code !== "ok") {
    const encoded = a.trailers["grpc-message"] ?? frames.trailers["grpc-message"] ?? a.headers["grpc-message"] ?? "";
    let message = encoded;
    try {
      message = decodeURIComponent(encoded);
    } catch {
      // not percent-encoded as gRPC says: keep it as it came
    }
    if (frames.messages.length > 0) return { code, problem: `error status with ${frames.messages.length} message(s)`, hang: false, message };
    return { code, hang: false, message };
  }
  if (frames.messages.length !== 1 || frames.leftover !== 0) return { code, problem: `OK with ${frames.messages.length} message(s) and ${frames.leftover} stray bytes`, hang: false };
  let message = frames.messages[0];
  if (frames.compressed) {
    const encoding = a.headers["grpc-encoding"] ?? "";
    try {
      message = decompress(encoding, message);
    } catch {
      return { code, problem: `compressed OK message that does not decompress as ${JSON.stringify(encoding)}`, hang: false };
    }
  }
  const json = (a.headers["content-type"] ?? "").endsWith("+json");
  return { code, problem: decodes(c.rpc?.output, message, json), hang: false };
}

function connectVerdict(c: FuzzCase, a: RawAnswer): Verdict {
  const contentType = a.headers["content-type"] ?? "";
  let body = a.body;
  const encoding = a.headers["content-encoding"];
  if (encoding && encoding !== "identity") {
    try {
      body = decompress(encoding, body);
    } catch {
      return { code: "none", problem: `a body that does not decompress as content-encoding ${JSON.stringify(encoding)}`, hang: false };
    }
  }
  if (a.status === 200) {
    if (c.method === "HEAD") return { code: "ok", hang: false };
    if (!/^application\/(json|proto)\b/.test(contentType)) return { code: "ok", problem: `HTTP 200 with content-type ${JSON.stringify(contentType)}`, hang: false };
    return { code: "ok", problem: decodes(c.rpc?.output, body, contentType.startsWith("application/json")), hang: false };
  }
  if (contentType.startsWith("application/json")) {
    let err: { code?: unknown; message?: unknown };
    try {
      err = JSON.parse(body.toString("utf8"));
    } catch {
      return { code: `http_${a.status}`, problem: `HTTP ${a.status} with a JSON content type and a body that is not JSON`, hang: false };
    }
    const code = typeof err?.code === "string" ? err.code : undefined;
    if (!code || !(code in CONNECT_HTTP_STATUS)) return { code: `http_${a.status}`, problem: `HTTP ${a.status} error body with code ${JSON.stringify(err?.code)}`, hang: false };
    const message = typeof err.message === "string" ? err.message : undefined;
    if (CONNECT_HTTP_STATUS[code] !== a.status) return { code, problem: `code ${code} with HTTP ${a.status} (Connect says ${CONNECT_HTTP_STATUS[code]})`, hang: false, message };
    return { code, hang: false, message };
  }
  return { code: `http_${a.status}`, problem: `HTTP ${a.status} without a Connect error body${a.status === 0 ? "" : ` (content-type ${JSON.stringify(contentType)})`}`, hang: false };
}

/** The deadline the request asked for (grpc-timeout, connect-timeout-ms), when well-formed. */
function requestedDeadlineMs(c: FuzzCase): number | undefined {
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(c.headers["grpc-timeout"] ?? "");
  if (grpc) return Number(grpc[1]) * { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[grpc[2]]!;
  const connect = c.headers["connect-timeout-ms"];
  if (connect !== undefined && /^\d{1,10}$/.test(connect)) return Number(connect);
  return undefined;
}

export function judge(c: FuzzCase, a: RawAnswer): Verdict {
  if (a.timedOut) return { code: "none", problem: `no complete answer within the bound (${Math.round(a.ms)} ms)`, hang: true };
  if (a.status === 0) return { code: "none", problem: `no answer: ${a.error ?? "connection closed"}`, hang: false };
  if (!a.complete) return { code: "none", problem: `answer cut short (HTTP ${a.status}): ${a.error ?? "no end of stream"}`, hang: false };
  let v: Verdict;
  if (c.allowHttp.includes(a.status)) v = { code: `http_${a.status}`, hang: false };
  else {
    // The answer's protocol follows the request's content type, as the server negotiated it.
    const contentType = a.headers["content-type"] ?? "";
    const grpcAnswer = contentType.startsWith("application/grpc") || a.headers["grpc-status"] !== undefined;
    if (c.protocol === "grpc" || c.protocol === "grpc-web") v = grpcVerdict(c, a, c.protocol === "grpc-web");
    else if (grpcAnswer) v = grpcVerdict(c, a, contentType.startsWith("application/grpc-web"));
    else v = connectVerdict(c, a);
  }
  if (v.problem) return v;
  const said = v.message ? `: ${v.message.slice(0, 200)}` : "";
  if (IMPRECISE_CODES.has(v.code)) return { ...v, problem: `imprecise code ${v.code} for a bad request${said}` };
  if (c.expect && v.code !== c.expect) return { ...v, problem: `expected ${c.expect}, got ${v.code}${said}` };
  const deadline = requestedDeadlineMs(c);
  // A deadline of a second or more cannot pass in a few milliseconds.
  if (v.code === "deadline_exceeded" && deadline !== undefined && deadline >= 1000 && a.ms < 500) {
    return { ...v, problem: `deadline_exceeded after ${Math.round(a.ms)} ms with a deadline of ${deadline} ms${said}` };
  }
  return v;
}
