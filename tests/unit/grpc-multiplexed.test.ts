// `<Method>Stream`: many unary calls as messages on one gRPC stream, between our server and our client,
// over a real socket. Callers must see exactly what separate unary calls would give them.
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "../../common/logger.js";
import { bind, serve, type RunningServer } from "../../common/server.js";
import { connectPeer } from "../../common/transport.js";
import { multiplexedMethods } from "../../common/multiplexed-methods.js";
import { RunStreamRequestSchema, RunStreamResponseSchema, SidecarService, type RunStreamResponse } from "../../gen/faas/sidecar/v1/sidecar_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";

const decoder = new TextDecoder();
const text = (s: string) => new TextEncoder().encode(s);

/** A sidecar whose run() sleeps for the milliseconds in its payload, or fails as the payload says. */
async function start(readMaxBytes = 4096): Promise<{ server: RunningServer; streams: () => number }> {
  let streams = 0;
  const server = await serve({
    name: "multiplexed-test",
    logger: createLogger("multiplexed-test", "silent"),
    readMaxBytes,
    services: [
      bind(SidecarService, {
        async run(req, ctx) {
          if (ctx.url.endsWith("/RunStream")) streams = Math.max(streams, 1);
          const p = decoder.decode(req.payload);
          if (p.startsWith("fail:")) throw new ConnectError(p.slice(5), Code.FailedPrecondition);
          if (p === "unencodable") return { invocationId: req.invocationId, execUs: -1n };
          if (p === "big-answer") return { invocationId: req.invocationId, output: new Uint8Array(8192) };
          await new Promise((r) => setTimeout(r, Number(p) || 0));
          return { invocationId: req.invocationId, output: req.payload, execUs: BigInt(Math.max(0, ctx.timeoutMs() ?? 0)) };
        },
      }),
    ],
  });
  return { server, streams: () => streams };
}

test("the convention finds the internal hops' stream companions", (t) => {
  t.deepEqual([...multiplexedMethods(SidecarService).keys()], ["Run"]);
  t.deepEqual([...multiplexedMethods(NodeManagerService).keys()], ["Invoke"]);
  t.deepEqual([...multiplexedMethods(BalancerService).keys()], ["Invoke"]);
});

test("concurrent calls share one stream, each answer arrives when its call ends, failures stay with their call", async (t) => {
  const { server, streams } = await start();
  const peer = connectPeer(SidecarService, server.url);
  try {
    const finished: string[] = [];
    const call = (id: string, payload: string) =>
      peer.client.run({ invocationId: id, payload: text(payload) }, { timeoutMs: 5000 }).then((r) => {
        finished.push(id);
        return r;
      });
    const [slow, fast, failed, ...many] = await Promise.allSettled([
      call("slow", "300"),
      call("fast", "1"),
      call("failed", "fail:no such thing"),
      ...Array.from({ length: 50 }, (_, i) => call(`m${i}`, String(i % 7))),
    ]);
    t.is(streams(), 1, "the calls came on the stream");
    t.is(slow.status === "fulfilled" && slow.value.invocationId, "slow");
    t.is(fast.status === "fulfilled" && decoder.decode(fast.value.output), "1");
    t.true(finished.indexOf("fast") < finished.indexOf("slow"), "a fast call is answered before a slow one started earlier");
    t.is(failed.status, "rejected");
    const err = (failed as PromiseRejectedResult).reason as ConnectError;
    t.is(err.code, Code.FailedPrecondition);
    t.is(err.rawMessage, "no such thing");
    t.true(many.every((r, i) => r.status === "fulfilled" && r.value.invocationId === `m${i}`));
    const unencodable = await t.throwsAsync(call("bad-answer", "unencodable"), { instanceOf: ConnectError });
    t.is(unencodable!.code, Code.Internal);
    const withDeadline = await peer.client.run({ invocationId: "d", payload: text("0") }, { timeoutMs: 4000 });
    t.true(withDeadline.execUs > 0n && withDeadline.execUs <= 4000n, "the handler sees the call's deadline");
  } finally {
    peer.close();
    await server.close(100);
  }
});

test("a call past its deadline fails alone with DEADLINE_EXCEEDED; an oversize one fails alone with RESOURCE_EXHAUSTED", async (t) => {
  const { server } = await start(4096);
  const peer = connectPeer(SidecarService, server.url);
  try {
    const late = peer.client.run({ invocationId: "late", payload: text("500") }, { timeoutMs: 50 });
    const big = peer.client.run({ invocationId: "big", payload: new Uint8Array(10_000).fill(0x31) }, { timeoutMs: 5000 });
    const fine = peer.client.run({ invocationId: "fine", payload: text("100") }, { timeoutMs: 5000 });
    t.is((await t.throwsAsync(late, { instanceOf: ConnectError }))!.code, Code.DeadlineExceeded);
    t.is((await t.throwsAsync(big, { instanceOf: ConnectError }))!.code, Code.ResourceExhausted);
    t.is((await fine).invocationId, "fine");
    // The late answer arrives after its caller gave up and is dropped; the stream carries on.
    await new Promise((r) => setTimeout(r, 600));
    t.is((await peer.client.run({ invocationId: "after", payload: text("0") }, { timeoutMs: 5000 })).invocationId, "after");
  } finally {
    peer.close();
    await server.close(100);
  }
});

test("an answer over the client's limit fails its call alone with RESOURCE_EXHAUSTED", async (t) => {
  const { server } = await start();
  const peer = connectPeer(SidecarService, server.url, { readMaxBytes: 2048 });
  try {
    const [big, small] = await Promise.allSettled([
      peer.client.run({ invocationId: "big", payload: text("big-answer") }, { timeoutMs: 5000 }),
      peer.client.run({ invocationId: "small", payload: text("50") }, { timeoutMs: 5000 }),
    ]);
    t.is(big.status === "rejected" && (big.reason as ConnectError).code, Code.ResourceExhausted);
    t.is(small.status === "fulfilled" && small.value.invocationId, "small");
  } finally {
    peer.close();
    await server.close(100);
  }
});

test("it is plain gRPC: a standard client (grpc-js) can speak the stream method", async (t) => {
  const { server } = await start();
  const client = new grpc.Client(server.url.replace("http://", ""), grpc.credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest(
      "/faas.sidecar.v1.SidecarService/RunStream",
      (m: Uint8Array) => Buffer.from(m),
      (b: Buffer) => fromBinary(RunStreamResponseSchema, b),
    );
    const answers: RunStreamResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: RunStreamResponse) => answers.push(m));
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write(toBinary(RunStreamRequestSchema, create(RunStreamRequestSchema, { callId: 7, request: { invocationId: "slow", payload: text("100") } })));
    call.write(toBinary(RunStreamRequestSchema, create(RunStreamRequestSchema, { callId: 8, request: { invocationId: "bad", payload: text("fail:nope") } })));
    call.end();
    await done;
    t.deepEqual(
      answers.map((a) => [a.callId, a.response?.invocationId ?? "", a.status?.code ?? 0]),
      [
        [8, "", Code.FailedPrecondition],
        [7, "slow", 0],
      ],
    );
  } finally {
    client.close();
    await server.close(100);
  }
});

test("a stopping server answers the calls it runs, then ends the stream; later calls fail UNAVAILABLE instead of hanging", async (t) => {
  const { server } = await start();
  const peer = connectPeer(SidecarService, server.url);
  try {
    await peer.client.run({ invocationId: "warm", payload: text("0") });
    const running = peer.client.run({ invocationId: "running", payload: text("200") }, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    const closing = Date.now();
    const closed = server.close(5000);
    t.is((await running).invocationId, "running");
    await closed;
    t.true(Date.now() - closing < 4000, "the stream ended once its calls were answered, not at the grace limit");
    const after = await t.throwsAsync(peer.client.run({ invocationId: "after", payload: text("0") }, { timeoutMs: 2000 }), { instanceOf: ConnectError });
    t.is(after!.code, Code.Unavailable);
  } finally {
    peer.close();
  }
});
