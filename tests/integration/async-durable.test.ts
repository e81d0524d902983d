// Durable async invocations on a real mesh: nats-server with JetStream, the five services as processes,
// functions in Docker. Accept stores the invocation before answering; redeliveries and copies do not run
// a function twice; platform failures (a stopped balancer) are retried with back-off, dead-lettered,
// listed and replayed; NATS down refuses new invocations; gateway restarts (graceful and SIGKILL) lose none.
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient, GrpcCallError, type GrpcJsClient } from "../../client/grpc-js.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { AdminService } from "../../gen/faas/gateway/v1/admin_pb.js";
import { AsyncEntrySchema, AsyncEntryState, AsyncInvocationSchema } from "../../gen/faas/gateway/v1/async_pb.js";
import { AsyncState, GatewayService, type InvokeResponse } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { freePort } from "../../scripts/local-mesh.js";
import { ASYNC_STREAM, ASYNC_SUBJECT, RESULTS_BUCKET, WORKERS_CONSUMER } from "../../services/gateway/async/durable-async.js";
import { eventually } from "../helpers/eventually.js";
import { parsePrometheusText, sampleSum } from "../helpers/prometheus-text.js";
import { FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

const ports = { gateway: await freePort(), balancer: await freePort() };
const BACKOFF = { base: 400, max: 3200, attempts: 5 };
const ctx = useMesh(test, {
  ports,
  env: {
    gateway: {
      ASYNC_MAX_ATTEMPTS: String(BACKOFF.attempts),
      ASYNC_BACKOFF_BASE_MS: String(BACKOFF.base),
      ASYNC_BACKOFF_MAX_MS: String(BACKOFF.max),
      ASYNC_WORKERS: "4",
      ASYNC_ACK_WAIT_MS: "3000",
      ASYNC_STORE_TIMEOUT_MS: "2000",
    },
  },
});

let nc: NatsConnection;
let jsm: JetStreamManager;
let admin: GrpcJsClient<typeof AdminService>;
/** Every invocation accepted: each must end with exactly one record. */
const accepted = new Set<string>();

test.serial.before(async () => {
  nc = await connect({ servers: ctx.mesh.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  jsm = await jetstreamManager(nc);
  admin = createGrpcJsClient(AdminService, ctx.mesh.gatewayUrl, { metadata: { authorization: `Bearer ${ctx.mesh.operatorKey}` } });
  // Sleeps for params.ms, then answers: long enough to catch it in the stream, running, or mid-queue.
  const dir = path.join(ctx.dir, "functions", "slow");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "index.js"), "exports.main = async (p) => { await new Promise((r) => setTimeout(r, p.ms ?? 0)); return { n: p.n ?? null, pid: process.pid }; };\n");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "slow", private: true, dependencies: {}, faas: { memoryMb: 128, timeoutMs: 20_000, maxConcurrency: 8 } }));
  await ctx.gateway.deployFunction(readFunctionDir(dir), { timeoutMs: 600_000 });
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "echo")), { timeoutMs: 600_000 });
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "throws")), { timeoutMs: 600_000 });
});

test.after.always(async () => {
  admin?.close();
  await nc?.close();
});

async function invokeAsync(fn: string, payload: unknown = {}): Promise<string> {
  const { message, headers } = await ctx.gateway.invokeAsync({ function: fn, payload: json(payload) }, { timeoutMs: 30_000 });
  accepted.add(message.invocationId);
  if (headers.get("faas-invocation-id")[0] !== message.invocationId) throw new Error("faas-invocation-id header differs from the id");
  return message.invocationId;
}

async function resultOf(id: string, timeoutMs = 60_000): Promise<InvokeResponse> {
  return eventually(
    async () => {
      const r = (await ctx.gateway.getResult({ invocationId: id, waitMs: 5000 }, { timeoutMs: 10_000 })).message;
      return r.state === AsyncState.DONE ? r.result : undefined;
    },
    `the result of ${id}`,
    timeoutMs,
    100,
  );
}

async function codeOf(call: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof GrpcCallError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

async function gatewayMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${ctx.mesh.gatewayUrl}/metrics`)).text();
  return sampleSum(parsePrometheusText(text), name, labels) ?? 0;
}

async function streamMessages(): Promise<number> {
  return (await jsm.streams.info(ASYNC_STREAM)).state.messages;
}

/** The last message on the invocations subject: the one a test just accepted (tests run one at a time). */
async function lastStored() {
  const sm = await jsm.streams.getMessage(ASYNC_STREAM, { last_by_subj: ASYNC_SUBJECT });
  if (!sm) throw new Error("no message in the stream");
  return { sm, inv: fromBinary(AsyncInvocationSchema, sm.data) };
}

async function waitForSyncInvoke(): Promise<void> {
  await eventually(async () => (await ctx.gateway.invoke({ function: "echo", payload: json({}) }, { timeoutMs: 30_000 })).message.status === InvocationStatus.OK, "a sync invocation to work again", 60_000, 250);
}

test.serial("an accepted invocation is in the stream before the answer, and its result comes by id to its tenant only", async (t) => {
  const id = await invokeAsync("slow", { ms: 1500, n: 1 });
  // Read right after the answer, while the function sleeps: the message and the state are stored.
  const { sm, inv } = await lastStored();
  t.is(inv.invocationId, id);
  t.is(sm.header.get("Nats-Msg-Id"), id, "the msg id de-duplicates a retried publish");
  t.is(inv.tenant, ctx.mesh.tenant);
  t.is(inv.function, ctx.mesh.qualified("slow"));
  t.deepEqual(parse(inv.payload), { ms: 1500, n: 1 });
  const kv = await new Kvm(jetstream(nc)).open(RESULTS_BUCKET);
  const entry = fromBinary(AsyncEntrySchema, (await kv.get(id))!.value);
  t.true([AsyncEntryState.PENDING, AsyncEntryState.RUNNING].includes(entry.state));
  t.is(entry.tenant, ctx.mesh.tenant);

  const pending = (await ctx.gateway.getResult({ invocationId: id, waitMs: 100 })).message;
  t.is(pending.state, AsyncState.PENDING);
  const other = createGrpcJsClient(GatewayService, ctx.mesh.gatewayUrl, { metadata: { authorization: `Bearer ${await ctx.mesh.createTenant("other")}` } });
  try {
    t.is((await codeOf(other.getResult({ invocationId: id }))).code, grpc.status.NOT_FOUND, "another tenant's invocation does not exist for it");
  } finally {
    other.close();
  }
  // Long-poll: one call waits for the end.
  const started = Date.now();
  const done = (await ctx.gateway.getResult({ invocationId: id, waitMs: 30_000 }, { timeoutMs: 40_000 })).message;
  t.is(done.state, AsyncState.DONE);
  t.true(Date.now() - started < 25_000);
  t.is(done.result!.status, InvocationStatus.OK);
  t.is(parse(done.result!.output).n, 1);
  // Acknowledged: the work queue holds nothing once it is done.
  await eventually(async () => (await streamMessages()) === 0, "the stream to be empty");
  t.is((await codeOf(ctx.gateway.getResult({ invocationId: "0".repeat(32) }))).code, grpc.status.NOT_FOUND);
  t.is((await codeOf(ctx.gateway.getResult({ invocationId: "nope" }))).code, grpc.status.INVALID_ARGUMENT);
  // A function's own error is a final result, not retried.
  const thrown = await resultOf(await invokeAsync("throws"));
  t.is(thrown.status, InvocationStatus.FUNCTION_ERROR);
  t.is(await gatewayMetric("faas_async_attempts_total", { function: ctx.mesh.qualified("throws") }), 1);
});

test.serial("a message delivered again, or a copy of it, does not run the function again", async (t) => {
  const fn = ctx.mesh.qualified("slow");
  const before = await gatewayMetric("faas_async_attempts_total", { function: fn });
  const id = await invokeAsync("slow", { ms: 2000, n: 2 });
  const { sm } = await lastStored();
  const js = jetstream(nc);
  // The same message published again (a producer's retry): JetStream de-duplicates it by its msg id.
  const again = await js.publish(ASYNC_SUBJECT, sm.data, { msgID: id });
  t.true(again.duplicate);
  // A copy under another msg id, delivered while the first still runs: another worker takes it, finds a live claim, leaves it.
  await js.publish(ASYNC_SUBJECT, sm.data, { msgID: `${id}:copy-1` });
  const result = await resultOf(id);
  t.is(result.status, InvocationStatus.OK);
  // A copy delivered after the end: it finds the result and is acknowledged without running.
  await js.publish(ASYNC_SUBJECT, sm.data, { msgID: `${id}:copy-2` });
  await eventually(async () => (await streamMessages()) === 0, "every copy to be acknowledged", 30_000, 100);
  const consumer = await jsm.consumers.info(ASYNC_STREAM, WORKERS_CONSUMER);
  t.is(consumer.num_ack_pending, 0);
  t.is(consumer.num_pending, 0);
  t.is((await gatewayMetric("faas_async_attempts_total", { function: fn })) - before, 1, "the function ran once");
  t.true((await gatewayMetric("faas_async_deliveries_skipped_total", { reason: "done" })) >= 1);
  t.true((await gatewayMetric("faas_async_deliveries_skipped_total", { reason: "busy" })) >= 1);
  const records = await eventually(async () => {
    const r = (await ctx.traceStore.queryInvocations({ invocationId: id })).message.records;
    return r.length > 0 ? r : undefined;
  }, "its record");
  t.is(records.length, 1);
  t.true(records[0].async);
  // The result is the first run's, unchanged.
  t.deepEqual(parse((await resultOf(id)).output), parse(result.output));
});

test.serial("platform failures are retried with back-off, then dead-lettered; the operator lists and replays them", async (t) => {
  const fn = ctx.mesh.qualified("echo");
  const retriesBefore = await gatewayMetric("faas_async_attempts_total", { function: fn, verdict: "retry" });
  await ctx.mesh.stopService("balancer");
  let id: string;
  try {
    id = await invokeAsync("echo", { replay: true });
    const failed = await resultOf(id, 60_000);
    t.is(failed.status, InvocationStatus.PLATFORM_ERROR);
    t.is(failed.error?.type, "Unavailable");
    t.regex(failed.error!.message, /gave up: .*after 5 attempts/);
    t.is((await gatewayMetric("faas_async_attempts_total", { function: fn, verdict: "retry" })) - retriesBefore, BACKOFF.attempts - 1);
    t.is(await gatewayMetric("faas_async_attempts_total", { function: fn, verdict: "dead" }), 1);

    const listed = (await admin.listDeadLetters({})).message.deadLetters;
    const dl = listed.find((d) => d.invocationId === id);
    t.truthy(dl, "listed");
    t.is(dl!.attempts, BACKOFF.attempts);
    t.is(dl!.tenant, ctx.mesh.tenant);
    t.is(dl!.function, fn);
    t.regex(dl!.reason, /Unavailable/);
    // 400 + 800 + 1600 + 3200 ms of back-off between the five attempts.
    t.true(Number(dl!.deadAtUnixMs - dl!.acceptedAtUnixMs) >= 6000, `dead after ${dl!.deadAtUnixMs - dl!.acceptedAtUnixMs} ms`);
    t.is((await admin.listDeadLetters({ tenant: "nobody" })).message.deadLetters.length, 0);
    // Only the operator.
    const asTenant = createGrpcJsClient(AdminService, ctx.mesh.gatewayUrl, { metadata: ctx.mesh.auth });
    const anonymous = createGrpcJsClient(AdminService, ctx.mesh.gatewayUrl);
    try {
      t.is((await codeOf(asTenant.listDeadLetters({}))).code, grpc.status.PERMISSION_DENIED);
      t.is((await codeOf(anonymous.replayDeadLetter({ invocationId: id }))).code, grpc.status.UNAUTHENTICATED);
    } finally {
      asTenant.close();
      anonymous.close();
    }
  } finally {
    await ctx.mesh.startService("balancer");
  }
  await waitForSyncInvoke();
  const replayed = (await admin.replayDeadLetter({ invocationId: id! })).message;
  t.is(replayed.generation, 1);
  const after = await eventually(async () => {
    const r = await resultOf(id!);
    return r.status === InvocationStatus.OK ? r : undefined;
  }, "the replay's result");
  t.deepEqual(parse(after.output).params, { replay: true });
  t.false((await admin.listDeadLetters({})).message.deadLetters.some((d) => d.invocationId === id), "no longer a dead letter");
  t.is((await codeOf(admin.replayDeadLetter({ invocationId: id! }))).code, grpc.status.NOT_FOUND);
  t.is((await codeOf(admin.replayDeadLetter({ invocationId: "0".repeat(32) }))).code, grpc.status.NOT_FOUND);
});

test.serial("an invocation retried while the balancer is down succeeds once it is back", async (t) => {
  const fn = ctx.mesh.qualified("echo");
  const retriesBefore = await gatewayMetric("faas_async_attempts_total", { function: fn, verdict: "retry" });
  await ctx.mesh.stopService("balancer");
  let id: string;
  try {
    id = await invokeAsync("echo", { n: 4 });
    await eventually(async () => (await gatewayMetric("faas_async_attempts_total", { function: fn, verdict: "retry" })) > retriesBefore, "a first failed attempt");
    t.is((await ctx.gateway.getResult({ invocationId: id })).message.state, AsyncState.PENDING, "pending between attempts");
  } finally {
    await ctx.mesh.startService("balancer");
  }
  const r = await resultOf(id!);
  t.is(r.status, InvocationStatus.OK);
  t.deepEqual(parse(r.output).params, { n: 4 });
});

test.serial("with NATS down InvokeAsync is UNAVAILABLE and accepts nothing; once it is back, invocations are accepted and run", async (t) => {
  const port = Number(new URL(ctx.mesh.natsUrl).port);
  await ctx.mesh.stopNats();
  try {
    const err = await codeOf(ctx.gateway.invokeAsync({ function: "echo", payload: json({}) }, { timeoutMs: 30_000 }));
    t.is(err.code, grpc.status.UNAVAILABLE, err.details);
  } finally {
    await ctx.mesh.startNats(port);
  }
  const id = await eventually(async () => invokeAsync("echo", { n: 5 }), "InvokeAsync to accept again", 60_000, 500);
  const r = await resultOf(id);
  t.is(r.status, InvocationStatus.OK);
});

test.serial("a gateway stopped mid-queue loses nothing: the next gateway runs what is left", async (t) => {
  const ids: string[] = [];
  for (let n = 0; n < 12; n++) ids.push(await invokeAsync("slow", { ms: 1000, n }));
  await eventually(async () => (await gatewayMetric("faas_async_running")) > 0, "attempts to run");
  const stopped = await ctx.mesh.stopService("gateway", "SIGTERM");
  t.is(stopped.code, 0);
  const left = await streamMessages();
  t.true(left > 0, "some were still queued when the gateway stopped");
  await ctx.mesh.startService("gateway");
  for (const [n, id] of ids.entries()) {
    const r = await resultOf(id, 120_000);
    t.is(r.status, InvocationStatus.OK, id);
    t.is(parse(r.output).n, n);
  }
});

test.serial("a gateway killed while running invocations: another takes them over once their claims lapse", async (t) => {
  const ids: string[] = [];
  for (let n = 0; n < 4; n++) ids.push(await invokeAsync("slow", { ms: 3000, n }));
  const kv = await new Kvm(jetstream(nc)).open(RESULTS_BUCKET);
  await eventually(async () => {
    const e = await kv.get(ids[0]);
    return e && fromBinary(AsyncEntrySchema, e.value).state === AsyncEntryState.RUNNING;
  }, "the first to run");
  await ctx.mesh.stopService("gateway", "SIGKILL");
  await ctx.mesh.startService("gateway");
  for (const [n, id] of ids.entries()) {
    const r = await resultOf(id, 120_000);
    t.is(r.status, InvocationStatus.OK);
    t.is(parse(r.output).n, n);
  }
  const entry = fromBinary(AsyncEntrySchema, (await kv.get(ids[0]))!.value);
  t.is(entry.attempts, 2, "the killed gateway's attempt counts; the second one finished it");
  await eventually(async () => (await streamMessages()) === 0, "the stream to be empty");
});

test.after("every accepted invocation ended with exactly one record in trace-store", async (t) => {
  const ids = [...accepted];
  t.true(ids.length >= 20, `only ${ids.length} invocations were accepted`);
  const records = await eventually(async () => {
    const found = [];
    for (const id of ids) found.push(...(await ctx.traceStore.queryInvocations({ invocationId: id })).message.records);
    return found.length >= ids.length ? found : undefined;
  }, "all records in trace-store", 60_000);
  t.is(new Set(records.map((r) => r.invocationId)).size, ids.length);
  t.is(records.length, ids.length);
});
