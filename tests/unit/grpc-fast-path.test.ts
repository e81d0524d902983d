// The unary gRPC fast path against two independent clients: grpc-js (a standard gRPC implementation)
// and our lean client; connect-node keeps serving what the fast path does not take.
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcJsClient, GrpcCallError } from "../../client/grpc-js.js";
import { createLogger } from "../../common/logger.js";
import { bind, serve, type RunningServer } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { encodeGrpcMessage, parseGrpcTimeout } from "../../common/grpc-fast-path.js";
import { SidecarService } from "../../gen/faas/sidecar/v1/sidecar_pb.js";

let server: RunningServer;
const seen: { signalAborted?: boolean; timeoutMs?: number } = {};

test.before(async () => {
  server = await serve({
    name: "fast-path-test",
    logger: createLogger("fast-path-test", "silent"),
    readMaxBytes: 1024,
    services: [
      bind(SidecarService, {
        async run(req, ctx) {
          ctx.responseHeader.set("x-seen", req.invocationId);
          if (req.invocationId === "fail") throw new ConnectError("bad thing: 100% wrong\nnext line", Code.FailedPrecondition);
          if (req.invocationId === "slow") {
            seen.timeoutMs = ctx.timeoutMs();
            await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
            seen.signalAborted = true;
          }
          return { invocationId: req.invocationId, output: req.payload };
        },
        async *runBatch(req) {
          for (const r of req.runs) yield { result: { invocationId: r.invocationId } };
        },
      }),
    ],
  });
});
test.after.always(() => server.close(100));

test("grpc-timeout parsing and message encoding follow the gRPC spec", (t) => {
  t.is(parseGrpcTimeout("250m"), 250);
  t.is(parseGrpcTimeout("2S"), 2000);
  t.is(parseGrpcTimeout("1H"), 3_600_000);
  t.is(parseGrpcTimeout("5000u"), 5);
  t.is(parseGrpcTimeout("123456789m"), undefined, "at most 8 digits");
  t.is(parseGrpcTimeout("99999999H"), 2 ** 31 - 1, "no longer than a Node timer holds");
  t.is(parseGrpcTimeout("10x"), undefined);
  t.is(encodeGrpcMessage("a: b"), "a: b");
  t.is(encodeGrpcMessage("100% ü\n"), "100%25 %C3%BC%0A");
  t.is(decodeURIComponent(encodeGrpcMessage("100% ünïcode\n")), "100% ünïcode\n");
});

test("a standard gRPC client gets the answer, the handler's response headers, and error codes and messages", async (t) => {
  const c = createGrpcJsClient(SidecarService, server.url);
  try {
    const ok = await c.run({ invocationId: "a", payload: new Uint8Array([1, 2, 3]) });
    t.is(ok.message.invocationId, "a");
    t.deepEqual([...ok.message.output], [1, 2, 3]);
    t.deepEqual(ok.headers.get("x-seen"), ["a"]);
    const err = await t.throwsAsync(c.run({ invocationId: "fail" }), { instanceOf: GrpcCallError });
    t.is(err!.code, grpc.status.FAILED_PRECONDITION);
    t.is(err!.details, "bad thing: 100% wrong\nnext line");
    t.deepEqual(err!.headers?.get("x-seen"), ["fail"]);
    const big = await t.throwsAsync(c.run({ invocationId: "big", payload: new Uint8Array(2000) }), { instanceOf: GrpcCallError });
    t.is(big!.code, grpc.status.RESOURCE_EXHAUSTED);
    // Not in the service: connect-node answers, as for any unknown method.
    const unimplemented = await t.throwsAsync(c.loadFunction({}), { instanceOf: GrpcCallError });
    t.is(unimplemented!.code, grpc.status.UNIMPLEMENTED);
  } finally {
    c.close();
  }
});

test("a deadline reaches the handler as timeoutMs and an aborted signal; the client gets DEADLINE_EXCEEDED", async (t) => {
  const c = createGrpcJsClient(SidecarService, server.url);
  try {
    const err = await t.throwsAsync(c.run({ invocationId: "slow" }, { timeoutMs: 300 }), { instanceOf: GrpcCallError });
    t.is(err!.code, grpc.status.DEADLINE_EXCEEDED);
    t.true(seen.timeoutMs! > 0 && seen.timeoutMs! <= 300);
    const { eventually } = await import("../helpers/eventually.js");
    await eventually(() => seen.signalAborted, "the handler's signal to abort");
  } finally {
    c.close();
  }
});

test("the lean client throws ConnectErrors with the server's code, and streams still go through connect", async (t) => {
  const peer = connectPeer(SidecarService, server.url, { readMaxBytes: 1024 });
  try {
    t.is((await peer.client.run({ invocationId: "b" })).invocationId, "b");
    const err = await t.throwsAsync(peer.client.run({ invocationId: "fail" }), { instanceOf: ConnectError });
    t.is(err!.code, Code.FailedPrecondition);
    t.is(err!.rawMessage, "bad thing: 100% wrong\nnext line");
    const timeout = await t.throwsAsync(peer.client.run({ invocationId: "slow" }, { timeoutMs: 100 }), { instanceOf: ConnectError });
    t.is(timeout!.code, Code.DeadlineExceeded);
    const ids: string[] = [];
    for await (const r of peer.client.runBatch({ runs: [{ invocationId: "x" }, { invocationId: "y" }] })) ids.push(r.result!.invocationId);
    t.deepEqual(ids, ["x", "y"]);
  } finally {
    peer.close();
  }
  const down = connectPeer(SidecarService, "http://127.0.0.1:1");
  const unreachable = await t.throwsAsync(down.client.run({ invocationId: "c" }), { instanceOf: ConnectError });
  t.is(unreachable!.code, Code.Unavailable);
  down.close();
});
