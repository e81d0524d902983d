// The gateway fuzzer's pure parts (loadgen/fuzz/): cases are a function of (seed, index), the hand-made
// wire format is right where it claims to be, the guard keeps mutated deploys from changing the mesh,
// and the oracle tells a precise answer from a broken one.
import * as path from "node:path";
import test from "ava";
import { clone, fromBinary, toBinary } from "@bufbuild/protobuf";
import { readFunctionDir } from "../../client/function-dir.js";
import { DeleteFunctionRequestSchema, DeployFunctionRequestSchema, GatewayService, GetFunctionRequestSchema } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { generateCase, type FuzzCase } from "../../loadgen/fuzz/cases.js";
import { frame, parseFrames } from "../../loadgen/fuzz/framing.js";
import { SideEffectGuard } from "../../loadgen/fuzz/guard.js";
import { judge } from "../../loadgen/fuzz/oracle.js";
import { lenField, nestedMessages, topLevelFields, varint } from "../../loadgen/fuzz/protobuf-wire.js";
import type { FuzzTarget } from "../../loadgen/fuzz/target.js";
import type { RawAnswer } from "../../loadgen/fuzz/transport.js";
import { REPO_ROOT } from "../../scripts/local-mesh.js";

const target: FuzzTarget = {
  url: "http://127.0.0.1:1",
  apiKey: `faas_0123456789abcdef_${"A".repeat(43)}`,
  headers: { "x-extra": "1" },
  functions: [readFunctionDir(path.join(REPO_ROOT, "functions/noop")), readFunctionDir(path.join(REPO_ROOT, "tests/fixtures/functions/echo"), { maxConcurrency: 16 })],
  invocationIds: ["0".repeat(32)],
  readMaxBytes: 3 << 20,
  maxPayloadBytes: 1 << 20,
  maxCodeBytes: 256 << 10,
};

test("a case is a function of the seed and its index", (t) => {
  const guard = new SideEffectGuard(target);
  for (const i of [0, 1, 17, 4242]) {
    const a = generateCase(9, i, target, guard);
    const b = generateCase(9, i, target, guard);
    t.is(a.label, b.label);
    t.deepEqual(a.headers, b.headers);
    t.true(a.body.equals(b.body));
  }
  t.not(generateCase(9, 1, target, guard).label + generateCase(9, 2, target, guard).label, generateCase(10, 1, target, guard).label + generateCase(10, 2, target, guard).label);
});

test("every case carries the extra headers, and the key unless it is a bad-key case", (t) => {
  const guard = new SideEffectGuard(target);
  for (let i = 0; i < 400; i++) {
    const c = generateCase(3, i, target, guard);
    t.is(c.headers["x-extra"], "1");
    if (c.expect === "unauthenticated") t.not(c.headers.authorization, `Bearer ${target.apiKey}`);
    else t.is(c.headers.authorization, `Bearer ${target.apiKey}`);
  }
});

test("varints, length-delimited fields and nested messages decode as protobuf says", (t) => {
  t.deepEqual([...varint(300)], [0xac, 0x02]);
  t.deepEqual([...varint(1, 3)], [0x81, 0x80, 0x00], "padded, same value");
  t.deepEqual([...varint(2n ** 64n - 1n)].length, 10);
  const msg = lenField(1, Buffer.from("noop"));
  t.is(fromBinary(GetFunctionRequestSchema, msg).name, "noop");
  const fields = topLevelFields(Buffer.concat([msg, lenField(1, Buffer.from("echo"))]));
  t.deepEqual(fields.map((f) => [f.fieldNumber, f.start, f.end]), [[1, 0, 6], [1, 6, 12]]);
  const deep = nestedMessages(99, 1000);
  t.is(topLevelFields(deep)[0].end, deep.length, "the outer prefix covers exactly the rest");
  const parsed = parseFrames(Buffer.concat([frame(0, msg), frame(0x80, Buffer.from("grpc-status: 3\r\ngrpc-message: x\r\n"))]));
  t.deepEqual(parsed.trailers, { "grpc-status": "3", "grpc-message": "x" });
  t.is(parsed.messages.length, 1);
});

test("the guard lets a same-version redeploy through and makes other valid deploys and deletes of fixtures harmless", (t) => {
  const guard = new SideEffectGuard(target);
  const same = Buffer.from(toBinary(DeployFunctionRequestSchema, target.functions[0]));
  t.true(guard.check(DeployFunctionRequestSchema, "proto", same).equals(same));
  const other = clone(DeployFunctionRequestSchema, target.functions[0]);
  other.spec!.name = "brand-new";
  const checked = fromBinary(DeployFunctionRequestSchema, guard.check(DeployFunctionRequestSchema, "proto", Buffer.from(toBinary(DeployFunctionRequestSchema, other))));
  t.is(checked.spec?.runtime, "fuzz-defused");
  const del = Buffer.from(JSON.stringify({ name: "noop" }));
  t.is(JSON.parse(guard.check(DeleteFunctionRequestSchema, "json", del).toString()).name, "fuzz-absent");
  t.is(guard.defused, 2);
});

const answer = (a: Partial<RawAnswer>): RawAnswer => ({ status: 200, headers: {}, trailers: {}, body: Buffer.alloc(0), complete: true, timedOut: false, ms: 5, ...a });
const invoke = GatewayService.method.invoke;
const grpcCase = { index: 0, protocol: "grpc", http: "h2", method: "POST", path: "/x", headers: {}, body: Buffer.alloc(0), rpc: invoke, label: "", allowHttp: [] } as unknown as FuzzCase;

test("the oracle wants a grpc-status, a known Connect code, and no imprecise code", (t) => {
  t.is(judge(grpcCase, answer({ trailers: { "grpc-status": "3" } })).problem, undefined);
  t.regex(judge(grpcCase, answer({ trailers: { "grpc-status": "13", "grpc-message": "parse%20binary" } })).problem!, /imprecise code internal/);
  t.regex(judge(grpcCase, answer({ status: 404 })).problem!, /HTTP 404/);
  t.regex(judge(grpcCase, answer({ trailers: { "grpc-status": "17" } })).problem!, /not a code/);
  t.true(judge(grpcCase, answer({ timedOut: true, complete: false, ms: 10_000 })).hang);
  const connect = { ...grpcCase, protocol: "connect" } as FuzzCase;
  const error = (code: string, status: number) => answer({ status, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ code, message: "m" })) });
  t.is(judge(connect, error("invalid_argument", 400)).code, "invalid_argument");
  t.regex(judge(connect, error("invalid_argument", 500)).problem!, /Connect says 400/);
  t.regex(judge(connect, error("bogus", 400)).problem!, /code/);
  t.is(judge({ ...connect, allowHttp: [415] } as FuzzCase, answer({ status: 415 })).code, "http_415");
  const withDeadline = { ...grpcCase, headers: { "grpc-timeout": "99999999H" } } as FuzzCase;
  t.regex(judge(withDeadline, answer({ trailers: { "grpc-status": "4" }, ms: 3 })).problem!, /deadline_exceeded after 3 ms/);
});
