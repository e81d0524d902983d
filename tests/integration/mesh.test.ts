// The mesh end to end on real components: nats-server, the Docker engine, the five services as
// processes, the sidecar in real containers. Called through a standard gRPC client and plain fetch.
import * as http2 from "node:http2";
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { connect } from "@nats-io/transport-node";
import Docker from "dockerode";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient, GrpcCallError } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerState, ContainerStateChangedSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import { AsyncState } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { eventually } from "../helpers/eventually.js";
import { deployFixture, FIXTURES, json, parse, SAMPLES, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test);
/** Every invocation id a test saw accepted: each must end with exactly one record. */
const accepted = new Set<string>();

async function invoke(fn: string, payload: unknown = {}) {
  const { message, headers } = await ctx.gateway.invoke({ function: fn, payload: json(payload) }, { timeoutMs: 120_000 });
  accepted.add(message.invocationId);
  const header = headers.get("faas-invocation-id")[0];
  if (header !== message.invocationId) throw new Error(`faas-invocation-id header ${header} != ${message.invocationId}`);
  return message;
}
async function invokeError(fn: string, payload: Uint8Array): Promise<GrpcCallError> {
  try {
    await ctx.gateway.invoke({ function: fn, payload }, { timeoutMs: 120_000 });
  } catch (err) {
    if (!(err instanceof GrpcCallError)) throw err;
    const id = err.headers?.get("faas-invocation-id")[0];
    if (typeof id === "string") accepted.add(id);
    return err;
  }
  throw new Error("the call succeeded");
}

test.serial.before(async () => {
  for (const f of ["echo", "throws", "hangs", "exits", "oom", "esm"]) await deployFixture(ctx, f);
});

test.serial("a deployed function runs cold, then warm in the same container, through gRPC (grpc-js)", async (t) => {
  const first = await invoke("echo", { hello: "world" });
  t.is(first.status, InvocationStatus.OK);
  t.is(first.startKind, StartKind.COLD);
  const out = parse(first.output);
  t.deepEqual(out.params, { hello: "world" });
  t.is(out.secret, "s3cret", "the function sees its own env");
  t.deepEqual(out.sidecarEnvVisible, [], "the function does not see the sidecar's FAAS_ variables");
  t.is(out.invocationId, first.invocationId);
  t.true(out.remainingMs > 0 && out.remainingMs <= 5000);
  t.true(first.timings!.startupUs > 0n && first.timings!.totalUs >= first.timings!.startupUs);
  const second = await invoke("echo", { n: 2 });
  t.is(second.startKind, StartKind.WARM);
  t.is(second.timings!.startupUs, 0n);
  t.is(parse(second.output).pid, out.pid, "the same worker served both");
});

test.serial("Connect HTTP+JSON works with plain fetch, including error codes", async (t) => {
  const url = `${ctx.mesh.gatewayUrl}/faas.gateway.v1.GatewayService/Invoke`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${ctx.mesh.apiKey}` };
  const ok = await fetch(url, { method: "POST", headers, body: JSON.stringify({ function: "esm", payload: Buffer.from(JSON.stringify({ a: 2, b: 3 })).toString("base64") }) });
  t.is(ok.status, 200);
  const body = (await ok.json()) as { invocationId: string; status: string; output: string };
  accepted.add(body.invocationId);
  t.is(body.status, "INVOCATION_STATUS_OK");
  t.deepEqual(JSON.parse(Buffer.from(body.output, "base64").toString()), { esm: true, sum: 5 });

  const missing = await fetch(url, { method: "POST", headers, body: JSON.stringify({ function: "nope" }) });
  t.is(missing.status, 404);
  t.is(((await missing.json()) as { code: string }).code, "not_found");
  const malformed = await fetch(url, { method: "POST", headers, body: "{not json" });
  t.is(malformed.status, 400);
  t.is(((await malformed.json()) as { code: string }).code, "invalid_argument");
  const wrongField = await fetch(url, { method: "POST", headers, body: JSON.stringify({ function: 42 }) });
  t.is(((await wrongField.json()) as { code: string }).code, "invalid_argument");
  const list = await fetch(`${ctx.mesh.gatewayUrl}/faas.gateway.v1.GatewayService/ListFunctions`, { method: "POST", headers, body: "{}" });
  const names = ((await list.json()) as { functions: Array<{ name: string }> }).functions.map((f) => f.name);
  t.true(names.includes("echo") && names.includes("esm"));
});

test("an unknown function is NOT_FOUND; a bad name is INVALID_ARGUMENT", async (t) => {
  t.is((await invokeError("no-such-function", json({}))).code, grpc.status.NOT_FOUND);
  t.is((await invokeError("Bad_Name", json({}))).code, grpc.status.INVALID_ARGUMENT);
  await t.throwsAsync(ctx.gateway.getFunction({ name: "no-such-function" }), { instanceOf: GrpcCallError, message: /NOT_FOUND/ });
});

test("a payload that is not JSON, or not UTF-8, is INVALID_ARGUMENT; an oversized one is RESOURCE_EXHAUSTED", async (t) => {
  t.is((await invokeError("echo", new TextEncoder().encode("{oops"))).code, grpc.status.INVALID_ARGUMENT);
  t.is((await invokeError("echo", Uint8Array.from([0x22, 0xff, 0xfe, 0x22]))).code, grpc.status.INVALID_ARGUMENT);
  const big = json({ blob: "x".repeat(1024 * 1024 + 1) });
  t.is((await invokeError("echo", big)).code, grpc.status.RESOURCE_EXHAUSTED);
});

test("a malformed protobuf message is INVALID_ARGUMENT and the gateway keeps serving", async (t) => {
  const session = http2.connect(ctx.mesh.gatewayUrl);
  try {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, garbage.length]), garbage]);
    const status = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": "/faas.gateway.v1.GatewayService/Invoke", "content-type": "application/grpc", te: "trailers" });
      let grpcStatus = "";
      req.on("response", (h) => (grpcStatus = String(h["grpc-status"] ?? grpcStatus)));
      req.on("trailers", (h) => (grpcStatus = String(h["grpc-status"] ?? grpcStatus)));
      req.on("data", () => {});
      req.on("end", () => resolve(grpcStatus));
      req.on("error", reject);
      req.end(frame);
    });
    t.is(Number(status), grpc.status.INVALID_ARGUMENT);
  } finally {
    session.close();
  }
  t.is((await invoke("esm", { a: 1 })).status, InvocationStatus.OK);
});

test("a function that throws or rejects gives an OK call with an error result, stack trimmed", async (t) => {
  const thrown = await invoke("throws");
  t.is(thrown.status, InvocationStatus.FUNCTION_ERROR);
  t.is(thrown.error?.type, "TypeError");
  t.is(thrown.error?.message, "thrown on purpose");
  t.regex(thrown.error!.stack, /index\.js/);
  t.notRegex(thrown.error!.stack, /node:internal|sidecar|worker\.js/);
  const rejected = await invoke("throws", { kind: "reject" });
  t.is(rejected.error?.type, "RangeError");
});

test("a function that runs past its timeout is DEADLINE_EXCEEDED, and the function still works afterwards", async (t) => {
  const err = await invokeError("hangs", json({}));
  t.is(err.code, grpc.status.DEADLINE_EXCEEDED);
  t.regex(err.details, /timed out/);
  t.is((await invokeError("hangs", json({}))).code, grpc.status.DEADLINE_EXCEEDED);
});

test("process.exit and running out of memory end as clear error results; the container keeps serving", async (t) => {
  const exited = await invoke("exits");
  t.is(exited.status, InvocationStatus.EXITED);
  t.regex(exited.error!.message, /3/);
  const again = await invoke("exits");
  t.is(again.status, InvocationStatus.EXITED);
  t.is(again.startKind, StartKind.WARM, "the sidecar survived and replaced its worker");
  const oom = await invoke("oom");
  t.is(oom.status, InvocationStatus.OUT_OF_MEMORY);
  t.is((await invoke("oom")).startKind, StartKind.WARM);
});

test("a function with an exact-pinned npm dependency is built into its image and runs", async (t) => {
  await deployFixture(ctx, "markdown", SAMPLES);
  const r = await invoke("markdown", { markdown: "# Hi" });
  t.is(r.status, InvocationStatus.OK, r.error?.message);
  t.regex(parse(r.output).html, /<h1[^>]*>Hi<\/h1>/);
});

test("a dependency range is refused at deploy with INVALID_ARGUMENT", async (t) => {
  const req = readFunctionDir(`${FIXTURES}/echo`, { name: "ranged" });
  req.spec!.dependencies = { marked: "^12.0.0" };
  const err = await t.throwsAsync(ctx.gateway.deployFunction(req), { instanceOf: GrpcCallError });
  t.is(err!.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err!.details, /exact version/);
});

test("async invocations return an id at once and their result later", async (t) => {
  const { message } = await ctx.gateway.invokeAsync({ function: "esm", payload: json({ a: 20, b: 22 }) });
  accepted.add(message.invocationId);
  const result = await eventually(async () => {
    const r = (await ctx.gateway.getResult({ invocationId: message.invocationId, waitMs: 5000 })).message;
    return r.state === AsyncState.DONE ? r.result : undefined;
  }, "the async result");
  t.is(result!.status, InvocationStatus.OK);
  t.deepEqual(parse(result!.output), { esm: true, sum: 42 });
  await t.throwsAsync(ctx.gateway.getResult({ invocationId: "0".repeat(32) }), { message: /NOT_FOUND/ });
  await t.throwsAsync(ctx.gateway.getResult({ invocationId: "xyz" }), { message: /INVALID_ARGUMENT/ });
});

test.serial("container state changes are published on NATS", async (t) => {
  const nc = await connect({ servers: ctx.mesh.natsUrl });
  const seen: ContainerStateChanged[] = [];
  const sub = nc.subscribe("faas.containers.>");
  void (async () => {
    for await (const m of sub) seen.push(fromBinary(ContainerStateChangedSchema, m.data));
  })();
  await nc.flush();
  try {
    await ctx.gateway.deployFunction(readFunctionDir(`${FIXTURES}/echo`, { name: "echo-events" }), { timeoutMs: 600_000 });
    const r = await invoke("echo-events");
    const mine = await eventually(() => {
      const events = seen.filter((e) => e.function === ctx.mesh.qualified("echo-events"));
      return events.some((e) => e.state === ContainerState.IDLE) ? events : undefined;
    }, "events of the new container");
    t.deepEqual(mine.slice(0, 3).map((e) => ContainerState[e.state]), ["STARTING", "BUSY", "IDLE"]);
    t.is(mine[0].nodeId, ctx.mesh.nodeId);
    t.true(mine.every((e) => e.containerId === mine[0].containerId), "one container id from STARTING on");
    t.true(mine[1].sequence > mine[0].sequence);
    t.is(r.status, InvocationStatus.OK);
  } finally {
    await nc.close();
  }
});

test.serial("deleting a function removes its containers and makes it NOT_FOUND", async (t) => {
  await ctx.gateway.deployFunction(readFunctionDir(`${FIXTURES}/echo`, { name: "doomed" }), { timeoutMs: 600_000 });
  await invoke("doomed");
  const docker = new Docker();
  const labelled = () => docker.listContainers({ all: true, filters: { label: [`faas.node=${ctx.mesh.nodeId}`, `faas.function=${ctx.mesh.qualified("doomed")}`] } });
  t.is((await labelled()).length, 1);
  await ctx.gateway.deleteFunction({ name: "doomed" });
  t.is((await invokeError("doomed", json({}))).code, grpc.status.NOT_FOUND);
  await eventually(async () => (await labelled()).length === 0, "the container to be removed");
  await t.throwsAsync(ctx.gateway.deleteFunction({ name: "doomed" }), { message: /NOT_FOUND/ });
});

test.serial("a node-manager killed with SIGKILL adopts its containers on restart; a graceful stop leaves none", async (t) => {
  await invoke("echo");
  const listIds = async () => {
    const nm = createGrpcJsClient(NodeManagerService, ctx.mesh.url("node-manager"));
    try {
      return (await nm.listContainers({})).message.containers.map((c) => c.containerId).sort();
    } finally {
      nm.close();
    }
  };
  const before = await listIds();
  t.true(before.length > 0);
  const killed = await ctx.mesh.stopService("node-manager", "SIGKILL");
  t.is(killed.signal, "SIGKILL");
  await ctx.mesh.startService("node-manager");
  t.deepEqual(await listIds(), before, "every live container was adopted, none created");
  // The balancer learns the restarted node's address from its heartbeats; then echo runs warm again.
  const again = await eventually(async () => {
    const r = await invoke("echo");
    return r.startKind === StartKind.WARM ? r : undefined;
  }, "a warm invocation after the restart");
  t.is(again.status, InvocationStatus.OK);
  await ctx.mesh.stopService("node-manager", "SIGTERM");
  const docker = new Docker();
  const left = await docker.listContainers({ all: true, filters: { label: [`faas.node=${ctx.mesh.nodeId}`] } });
  t.is(left.length, 0, "a graceful stop removes every container of the node");
  await ctx.mesh.startService("node-manager");
});

test.after("every accepted invocation ended with exactly one record in trace-store", async (t) => {
  t.true(accepted.size >= 15, `only ${accepted.size} invocations were tracked`);
  const ids = [...accepted];
  const records = await eventually(async () => {
    const found = [];
    for (const id of ids) found.push(...(await ctx.traceStore.queryInvocations({ invocationId: id })).message.records);
    return found.length >= ids.length ? found : undefined;
  }, "all records in trace-store");
  t.is(records.length, ids.length);
  t.is(new Set(records.map((r) => r.invocationId)).size, ids.length);
  const summary = (await ctx.traceStore.summarize({})).message;
  t.true(summary.coldStarts > 0n);
  t.true(summary.containersCreated > 0n);
  t.true(summary.memoryMbSeconds > 0);
});
