// One fuzz case: a request (protocol, HTTP version, method, path, headers, body) and what the protocol
// allows as its answer. Each case is a pure function of the seed and its index (rng.ts), so a failure
// replays alone; the generator decides the mix of protocols, mutations and request-level faults.
import { gzipSync } from "node:zlib";
import { toJson, toBinary, type Message } from "@bufbuild/protobuf";
import { mutateBinary } from "./binary-mutators.js";
import { envelopeFor, frame } from "./framing.js";
import { type Codec, type SideEffectGuard } from "./guard.js";
import { mutateJson } from "./json-mutators.js";
import { Rng } from "./rng.js";
import { FUZZED_SERVICES, methodPath, seedFor, unaryMethods, type UnaryMethod } from "./seeds.js";
import type { FuzzTarget } from "./target.js";

/** The wire protocol the request speaks, which decides how its answer is judged. */
export type Protocol = "grpc" | "grpc-web" | "connect" | "http";
export type HttpVersion = "h1" | "h2";

export interface FuzzCase {
  readonly index: number;
  readonly protocol: Protocol;
  readonly http: HttpVersion;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The procedure the path names, when it names one: its output decodes an OK answer. */
  readonly rpc?: UnaryMethod;
  /** What the generator did, e.g. "connect-json/h1 Invoke invoke:deployed:valid text-edit". */
  readonly label: string;
  /** HTTP-level answers (no protocol status) the protocol's spec allows for this request. */
  readonly allowHttp: readonly number[];
  /** The one code the answer must carry (Connect's lower-case name), when the request determines it. */
  readonly expect?: string;
}

type Flavor = "grpc" | "grpc-json" | "grpc-web" | "grpc-web-json" | "grpc-web-text" | "connect-proto" | "connect-json";

const FLAVORS: ReadonlyArray<readonly [Flavor, number]> = [
  ["grpc", 30],
  ["grpc-json", 3],
  ["grpc-web", 12],
  ["grpc-web-json", 2],
  ["grpc-web-text", 1],
  ["connect-proto", 14],
  ["connect-json", 22],
];

const CONTENT_TYPES: Record<Flavor, readonly string[]> = {
  grpc: ["application/grpc", "application/grpc+proto"],
  "grpc-json": ["application/grpc+json"],
  "grpc-web": ["application/grpc-web", "application/grpc-web+proto"],
  "grpc-web-json": ["application/grpc-web+json"],
  "grpc-web-text": ["application/grpc-web-text", "application/grpc-web-text+proto"],
  "connect-proto": ["application/proto"],
  "connect-json": ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"],
};

/** Content types no handler of the gateway takes: 415 by both the gRPC and the Connect spec. */
const UNSUPPORTED_CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "application/grpc+xml",
  "application/grpc-web+thrift",
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  "multipart/form-data; boundary=x",
  "application/connect+json",
  "application/connect+proto",
  "application/x-www-form-urlencoded",
  "application/protobuf",
  "application/octet-stream",
  "json",
  "application/",
  "*/*",
];

const UNKNOWN_PATHS = [
  "/",
  "/faas.gateway.v1.GatewayService/Nope",
  "/faas.gateway.v1.GatewayService/invoke",
  "/faas.gateway.v1.GatewayService/Invoke/",
  "/faas.gateway.v1.GatewayService/Invoke/extra",
  "/faas.gateway.v1.GatewayService/InvokeStream",
  "/faas.gateway.v1.GatewayService",
  "/faas.gateway.v1.GatewayService/",
  "/faas.gateway.v1.Nope/Invoke",
  "/faas.balancer.v1.BalancerService/Invoke",
  "//faas.gateway.v1.GatewayService/Invoke",
  "/faas.gateway.v1.GatewayService/Invoke%00",
  "/faas.gateway.v1.GatewayService/%49nvoke",
  "/..%2f..%2fetc%2fpasswd",
  "/healthz",
  "/metrics",
  `/${"a".repeat(4096)}`,
  "/faas.gateway.v1.GatewayService/Invoke;x=1",
];

const WRONG_METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/** Authorization values that must not authenticate anyone. */
function badAuthorization(rng: Rng, apiKey: string | undefined): string | undefined {
  const key = apiKey ?? `faas_${rng.hex(16)}_${"A".repeat(43)}`;
  const flipped = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
  return rng.pick<string | undefined>([
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    `Bearer faas_${rng.hex(16)}_${"x".repeat(43)}`,
    `Bearer ${flipped}`,
    `Bearer ${key}x`,
    key,
    `Token ${key}`,
    `Bearer ${key} ${key}`,
    `Bearer ${rng.ascii(rng.int(1, 60)).replace(/\s/g, "_")}`,
    `Bearer faas_${"g".repeat(16)}_${"A".repeat(43)}`,
  ]);
}

/** Headers most requests carry; some get odd values the server must not trip over. */
function commonHeaders(rng: Rng, target: FuzzTarget): Record<string, string> {
  const h: Record<string, string> = {};
  if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
  Object.assign(h, target.headers);
  if (rng.chance(0.05)) h.traceparent = rng.pick(["00-" + rng.hex(32) + "-" + rng.hex(16) + "-01", "garbage", "00-" + "0".repeat(32) + "-" + "0".repeat(16) + "-01", "ff-" + rng.hex(32) + "-" + rng.hex(16) + "-01", rng.ascii(rng.int(0, 80))]);
  if (rng.chance(0.02)) h.tracestate = rng.ascii(rng.int(0, 600));
  if (rng.chance(0.02)) h["x-fuzz"] = rng.ascii(rng.pick([10, 1000, 8000]));
  if (rng.chance(0.01)) h["faas-internal-secret"] = rng.ascii(rng.int(0, 40));
  return h;
}

function grpcHeaders(rng: Rng, h: Record<string, string>): void {
  if (rng.chance(0.9)) h.te = "trailers";
  if (rng.chance(0.1)) h["grpc-timeout"] = rng.pick(["5S", "100m", "1n", "0m", "99999999H", "abc", "-1S", "1.5S", "123456789S", "5"]);
  if (rng.chance(0.05)) h["grpc-accept-encoding"] = rng.pick(["gzip", "identity", "br, gzip", "x-none"]);
  if (rng.chance(0.02)) h["grpc-trace-bin"] = rng.ascii(rng.int(0, 40));
}

function connectHeaders(rng: Rng, h: Record<string, string>): void {
  if (rng.chance(0.7)) h["connect-protocol-version"] = rng.chance(0.95) ? "1" : rng.pick(["2", "0", "", "v1"]);
  if (rng.chance(0.08)) h["connect-timeout-ms"] = rng.pick(["5000", "1", "0", "-5", "abc", "99999999999", "1.5", "10000000000"]);
  if (rng.chance(0.03)) h["accept-encoding"] = rng.pick(["gzip", "br", "identity", "x-none"]);
}

const GATEWAY_WEIGHTS: Record<string, number> = { Invoke: 3, InvokeAsync: 1.5, GetResult: 1.5, DeployFunction: 1.5, GetFunction: 1, ListFunctions: 0.5, DeleteFunction: 1 };

function pickMethod(rng: Rng): UnaryMethod {
  const all: Array<readonly [UnaryMethod, number]> = [];
  for (const s of FUZZED_SERVICES) for (const m of unaryMethods(s)) all.push([m, GATEWAY_WEIGHTS[m.name] !== undefined && s === FUZZED_SERVICES[0] ? GATEWAY_WEIGHTS[m.name] : 0.1]);
  return rng.weighted(all);
}

const isJson = (f: Flavor) => f === "connect-json" || f === "grpc-json" || f === "grpc-web-json";
const protocolOf = (f: Flavor): Protocol => (f.startsWith("grpc-web") ? "grpc-web" : f.startsWith("grpc") ? "grpc" : "connect");

/** The message bytes: the seed as it is, or mutated in the flavor's codec; deploys and deletes guarded. */
function messageBytes(rng: Rng, rpc: UnaryMethod, seed: Message, codec: Codec, mutate: boolean, guard: SideEffectGuard): { bytes: Buffer; kind: string } {
  let bytes: Buffer;
  let kind = "as-is";
  if (codec === "proto") {
    bytes = Buffer.from(toBinary(rpc.input, seed));
    if (mutate) ({ bytes, kind } = mutateBinary(rng, bytes));
  } else {
    const json = toJson(rpc.input, seed);
    if (mutate) ({ bytes, kind } = mutateJson(rng, json));
    else bytes = Buffer.from(JSON.stringify(json));
  }
  return { bytes: guard.check(rpc.input, codec, bytes), kind };
}

/** A well-formed call of a procedure in one protocol flavor: the common case. */
function protocolCase(rng: Rng, index: number, target: FuzzTarget, guard: SideEffectGuard): FuzzCase {
  const flavor = rng.weighted(FLAVORS);
  const protocol = protocolOf(flavor);
  // gRPC needs HTTP/2; gRPC-Web and Connect run on both.
  const http: HttpVersion = protocol === "grpc" ? "h2" : rng.chance(0.5) ? "h1" : "h2";
  const rpc = pickMethod(rng);
  const seed = seedFor(rng, rpc, target);
  const codec: Codec = isJson(flavor) ? "json" : "proto";
  const mutate = rng.chance(0.75);
  const msg = messageBytes(rng, rpc, seed.message, codec, mutate, guard);
  const headers = commonHeaders(rng, target);
  headers["content-type"] = rng.pick(CONTENT_TYPES[flavor]);
  let body: Buffer;
  let framing = "";
  if (protocol === "connect") {
    connectHeaders(rng, headers);
    body = msg.bytes;
    if (rng.chance(0.06)) {
      framing = rng.pick(["gzip", "gzip-garbage", "unknown-encoding"]);
      headers["content-encoding"] = framing === "unknown-encoding" ? rng.pick(["br2", "snappy", "x-unknown"]) : "gzip";
      if (framing === "gzip") body = gzipSync(body);
      else if (framing === "gzip-garbage") body = rng.bytes(rng.int(0, 32));
    }
  } else {
    grpcHeaders(rng, headers);
    const framed = envelopeFor(rng, msg.bytes, rng.chance(0.3));
    body = framed.body;
    framing = framed.kind;
    if (framed.encoding) headers["grpc-encoding"] = framed.encoding;
    if (flavor === "grpc-web-text") {
      body = rng.chance(0.85) ? Buffer.from(body.toString("base64")) : Buffer.from(rng.pick(["!!!", "AAAA*", body.toString("base64").slice(1), "="]));
    }
  }
  return {
    index,
    protocol,
    http,
    method: "POST",
    path: methodPath(rpc),
    headers,
    body,
    rpc,
    label: `${flavor}/${http} ${rpc.name} ${seed.kind} ${msg.kind}${framing ? ` ${framing}` : ""}`,
    // gRPC-Web's text encoding is optional: a server without it answers 415, as for any content type it lacks.
    allowHttp: flavor === "grpc-web-text" ? [415] : [],
  };
}

/** Requests wrong at the HTTP level: method, path, content type, size. */
function httpCase(rng: Rng, index: number, target: FuzzTarget): FuzzCase {
  const http: HttpVersion = rng.chance(0.5) ? "h1" : "h2";
  const headers = commonHeaders(rng, target);
  const rpc = pickMethod(rng);
  const kind = rng.weighted<string>([
    ["wrong-method", 3],
    ["unknown-path", 3],
    ["content-type", 3],
    ["oversize", 0.5],
  ]);
  if (kind === "wrong-method") {
    const method = rng.pick(WRONG_METHODS);
    const flavor = rng.weighted(FLAVORS);
    headers["content-type"] = rng.pick(CONTENT_TYPES[flavor]);
    // Connect's GET form: allowed for side-effect-free procedures only, and none of these declares itself so.
    const query = method === "GET" && rng.chance(0.5) ? `?connect=v1&encoding=json&message=${encodeURIComponent("{}")}` : "";
    const body = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : rng.bytes(rng.int(0, 16));
    return { index, protocol: "http", http, method, path: methodPath(rpc) + query, headers, body, label: `http/${http} ${method} ${rpc.name}`, allowHttp: [405] };
  }
  if (kind === "unknown-path") {
    const flavor = rng.weighted(FLAVORS);
    const protocol = protocolOf(flavor);
    const h = protocol === "grpc" ? "h2" : http;
    headers["content-type"] = rng.pick(CONTENT_TYPES[flavor]);
    if (protocol !== "connect") headers.te = "trailers";
    const path = rng.pick(UNKNOWN_PATHS);
    const body = protocol === "connect" ? Buffer.from(isJson(flavor) ? "{}" : "") : frame(0, Buffer.alloc(0));
    // Connect: 404 (the spec's answer for an unknown procedure). gRPC: grpc-status UNIMPLEMENTED.
    return { index, protocol, http: h, method: "POST", path, headers, body, label: `${flavor}/${h} unknown-path ${path.slice(0, 60)}`, allowHttp: protocol === "connect" ? [404] : [], expect: protocol === "connect" ? undefined : "unimplemented" };
  }
  if (kind === "content-type") {
    const ct = rng.chance(0.15) ? undefined : rng.pick(UNSUPPORTED_CONTENT_TYPES);
    if (ct !== undefined) headers["content-type"] = ct;
    const body = rng.chance(0.5) ? Buffer.from("{}") : frame(0, Buffer.alloc(0));
    return { index, protocol: "http", http, method: "POST", path: methodPath(rpc), headers, body, rpc, label: `http/${http} content-type ${ct ?? "(none)"} ${rpc.name}`, allowHttp: [415] };
  }
  // Larger than the gateway reads: RESOURCE_EXHAUSTED in the caller's protocol.
  const flavor = rng.weighted(FLAVORS.filter(([f]) => f !== "grpc-web-text"));
  const protocol = protocolOf(flavor);
  const h = protocol === "grpc" ? "h2" : http;
  headers["content-type"] = rng.pick(CONTENT_TYPES[flavor]);
  if (protocol !== "connect") headers.te = "trailers";
  const size = target.readMaxBytes + rng.int(1, 256 * 1024);
  const message = Buffer.alloc(size, isJson(flavor) ? 0x20 : 0);
  const body = protocol === "connect" ? message : frame(0, message);
  return { index, protocol, http: h, method: "POST", path: methodPath(rpc), headers, body, rpc, label: `${flavor}/${h} oversize ${size} ${rpc.name}`, allowHttp: [], expect: "resource_exhausted" };
}

/** A valid call with a missing or wrong key: UNAUTHENTICATED when the gateway checks keys. */
function authCase(rng: Rng, index: number, target: FuzzTarget): FuzzCase {
  const flavor = rng.pick<Flavor>(["grpc", "grpc-web", "connect-proto", "connect-json"]);
  const protocol = protocolOf(flavor);
  const http: HttpVersion = protocol === "grpc" ? "h2" : rng.chance(0.5) ? "h1" : "h2";
  const gateway = unaryMethods(FUZZED_SERVICES[0]);
  const rpc = rng.pick(gateway.filter((m) => m.name !== "DeployFunction" && m.name !== "DeleteFunction"));
  const seed = seedFor(rng, rpc, target);
  const headers: Record<string, string> = { ...target.headers };
  delete headers.authorization;
  const auth = badAuthorization(rng, target.apiKey);
  if (auth !== undefined) headers.authorization = auth;
  headers["content-type"] = CONTENT_TYPES[flavor][0];
  const codec: Codec = isJson(flavor) ? "json" : "proto";
  const msg = codec === "proto" ? Buffer.from(toBinary(rpc.input, seed.message)) : Buffer.from(JSON.stringify(toJson(rpc.input, seed.message)));
  if (protocol !== "connect") headers.te = "trailers";
  const body = protocol === "connect" ? msg : frame(0, msg);
  return {
    index,
    protocol,
    http,
    method: "POST",
    path: methodPath(rpc),
    headers,
    body,
    rpc,
    label: `${flavor}/${http} ${rpc.name} auth:${auth === undefined ? "missing" : JSON.stringify(auth.slice(0, 24))}`,
    allowHttp: [],
    expect: target.apiKey ? "unauthenticated" : undefined,
  };
}

/** Case `index` of the run with this seed. */
export function generateCase(seed: number, index: number, target: FuzzTarget, guard: SideEffectGuard): FuzzCase {
  const rng = Rng.forCase(seed, index);
  const family = rng.weighted<string>([
    ["protocol", 86],
    ["http", 9],
    ["auth", 5],
  ]);
  if (family === "http") return httpCase(rng, index, target);
  if (family === "auth") return authCase(rng, index, target);
  return protocolCase(rng, index, target, guard);
}
