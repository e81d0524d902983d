// Batching through the whole mesh (balancer dispatch queue → node-manager InvokeBatch → sidecar): members
// of one batch run concurrently in one container, each answered the moment it is done; a member that
// throws fails alone; a full dispatch queue answers RESOURCE_EXHAUSTED, and every accepted invocation
// ends with exactly one record carrying its batch.
import * as path from "node:path";
import test from "ava";
import { readFunctionDir } from "../../client/function-dir.js";
import { Code } from "@connectrpc/connect";
import { createGrpcJsClient } from "../../client/grpc-js.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import type { InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { eventually } from "../helpers/eventually.js";
import { deployFixture, FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

// window-only (FaaSBatch as published) with a wide window: what arrives together is one batch, for sure.
const WINDOW_MS = 300;
const MAX_QUEUED = 12;
const ctx = useMesh(test, { env: { balancer: { BATCHING_POLICY: "window-only", BATCH_WINDOW_MS: String(WINDOW_MS), BATCH_MAX_QUEUED: String(MAX_QUEUED) } } });

async function invoke(payload: unknown) {
  const started = Date.now();
  const { message } = await ctx.gateway.invoke({ function: "batchable", payload: json(payload) }, { timeoutMs: 60_000 });
  return { r: message, at: Date.now() - started };
}

/** The batchable fixture's code under another name and settings. */
async function deployAs(name: string, faas: Parameters<typeof readFunctionDir>[1]) {
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "batchable"), { ...faas, name }), { timeoutMs: 600_000 });
}

async function records(ids: readonly string[]): Promise<InvocationRecord[]> {
  const { message } = await ctx.traceStore.queryInvocations({ filter: { function: ctx.mesh.qualified("batchable") }, limit: 10_000 });
  return message.records.filter((r) => ids.includes(r.invocationId));
}

test.serial.before(async () => {
  await deployFixture(ctx, "batchable");
  const warm = await invoke({ rounds: 1 });
  if (warm.r.status !== InvocationStatus.OK) throw new Error(`warm-up failed: ${warm.r.error?.message}`);
});

test.serial("members of one batch share a container and each is answered when done: the fast one before the slow one ends", async (t) => {
  const [slow, fast] = await Promise.all([invoke({ rounds: 400_000, seed: "slow" }), invoke({ rounds: 1, seed: "fast" })]);
  t.is(slow.r.status, InvocationStatus.OK, slow.r.error?.message);
  t.is(fast.r.status, InvocationStatus.OK, fast.r.error?.message);
  t.is(slow.r.containerId, fast.r.containerId, "one batch, one container");
  t.is(parse(slow.r.output).pid, parse(fast.r.output).pid, "and one worker");
  t.log(`fast answered after ${fast.at} ms, slow after ${slow.at} ms (slow ran ${Number(slow.r.timings!.execUs) / 1000} ms)`);
  t.true(fast.at < slow.at, "the fast member did not wait for the slow one");
  const slowExecMs = Number(slow.r.timings!.execUs) / 1000;
  t.true(slow.at - fast.at > slowExecMs / 2, "the fast member's answer left while the slow one still ran");
  const recs = await eventually(async () => {
    const found = await records([slow.r.invocationId, fast.r.invocationId]);
    return found.length === 2 ? found : undefined;
  }, "both records");
  t.truthy(recs[0].batchId);
  t.is(recs[0].batchId, recs[1].batchId, "both records carry the same batch");
  t.deepEqual(
    recs.map((r) => r.batchSize),
    [2, 2],
  );
});

test.serial("a member that throws fails alone; the rest of its batch succeeds", async (t) => {
  const all = await Promise.all([invoke({ rounds: 10, seed: "a" }), invoke({ rounds: 10, seed: "b", fail: true }), invoke({ rounds: 10, seed: "c" })]);
  t.deepEqual(
    all.map((x) => InvocationStatus[x.r.status]),
    ["OK", "FUNCTION_ERROR", "OK"],
  );
  t.regex(all[1].r.error!.message, /member b fails on purpose/);
  const recs = await eventually(async () => {
    const found = await records(all.map((x) => x.r.invocationId));
    return found.length === 3 ? found : undefined;
  }, "three records");
  t.is(new Set(recs.map((r) => r.batchId)).size, 1, "one batch");
  t.true(recs.every((r) => r.batchSize === 3));
});

test.serial("over the dispatch queue's bound an invocation is RESOURCE_EXHAUSTED; every accepted one runs once and is recorded once", async (t) => {
  const n = MAX_QUEUED * 2;
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => ctx.gateway.invoke({ function: "batchable", payload: json({ rounds: 10, seed: `q${i}` }) }, { timeoutMs: 60_000 })));
  const ok = settled.filter((s) => s.status === "fulfilled").map((s) => (s as PromiseFulfilledResult<{ message: { invocationId: string; status: InvocationStatus } }>).value.message);
  const refused = settled.filter((s) => s.status === "rejected").map((s) => (s as PromiseRejectedResult).reason as { code: number; message: string });
  t.is(ok.length + refused.length, n);
  t.true(refused.length >= 1, "some were refused");
  t.true(ok.length >= MAX_QUEUED, `at least a full queue was accepted, got ${ok.length}`);
  for (const e of refused) {
    t.is(e.code, Code.ResourceExhausted);
    t.regex(e.message, /waiting for dispatch already/);
  }
  t.true(ok.every((m) => m.status === InvocationStatus.OK));
  const recs = await eventually(async () => {
    const found = await records(ok.map((m) => m.invocationId));
    return found.length === ok.length ? found : undefined;
  }, "a record per accepted invocation");
  t.is(new Set(recs.map((r) => r.invocationId)).size, ok.length, "exactly one record each");
});

test.serial("a pure function's identical payloads in one batch run once, and every member is answered and recorded", async (t) => {
  await deployFixture(ctx, "batchable-pure");
  const call = async (text: string) => (await ctx.gateway.invoke({ function: "batchable-pure", payload: json({ text }) }, { timeoutMs: 60_000 })).message;
  const all = await Promise.all([call("same"), call("other"), call("same"), call("same")]);
  t.true(all.every((r) => r.status === InvocationStatus.OK));
  const out = all.map((r) => parse(r.output));
  t.is(out[0].digest, out[2].digest);
  t.is(out[0].run, out[2].run, "the copies got the one run's result");
  t.is(out[0].run, out[3].run);
  t.not(out[0].run, out[1].run, "another payload ran on its own");
  t.is(new Set(all.map((r) => r.invocationId)).size, 4, "each answer has its own invocation id");
  const recs = await eventually(async () => {
    const { message } = await ctx.traceStore.queryInvocations({ filter: { function: ctx.mesh.qualified("batchable-pure") }, limit: 100 });
    const found = message.records.filter((r) => all.some((a) => a.invocationId === r.invocationId));
    return found.length === 4 ? found : undefined;
  }, "a record per member");
  t.true(recs.every((r) => r.batchSize === 4));
});

test.serial("the packing planner's predictions are readable over gRPC, from what the batches showed it", async (t) => {
  const balancer = createGrpcJsClient(BalancerService, ctx.mesh.url("balancer"));
  try {
    const { message: plan } = await balancer.planPacking({ function: ctx.mesh.qualified("batchable"), invocations: 100, objective: "time" });
    t.true(plan.degree >= 1 && plan.degree <= 16, `degree ${plan.degree} within the function's max concurrency`);
    t.is(plan.predictions.length, 16);
    t.is(plan.objective, "time");
    t.true(plan.scaling.length >= 1, "S(n) from the cold start it saw");
    t.true(plan.service.length >= 1, "E(d) from the pieces it saw");
    const chosen = plan.predictions[plan.degree - 1];
    t.true(plan.predictions.every((p) => p.score >= chosen.score), "the chosen degree has the least score");
    const err = await t.throwsAsync(balancer.planPacking({ function: ctx.mesh.qualified("batchable"), invocations: 100, objective: "speed" }));
    t.is((err as unknown as { code: number }).code, Code.InvalidArgument);
    const unknown = await t.throwsAsync(balancer.planPacking({ function: "nope", invocations: 10 }));
    t.is((unknown as unknown as { code: number }).code, Code.NotFound);
  } finally {
    balancer.close();
  }
});

test.serial("a function declaring 2 workers has a batch's members spread over two processes of one container", async (t) => {
  await deployAs("batchable-cpu", { memoryMb: 256, maxConcurrency: 8, workers: 2 });
  const call = async (seed: string) => (await ctx.gateway.invoke({ function: "batchable-cpu", payload: json({ rounds: 50_000, seed }) }, { timeoutMs: 60_000 })).message;
  // The first call starts the container (both workers); the batch after it finds them ready.
  t.is((await call("warm")).status, InvocationStatus.OK);
  const all = await Promise.all(["a", "b", "c", "d"].map(call));
  t.true(all.every((r) => r.status === InvocationStatus.OK), all.map((r) => r.error?.message).join(" "));
  t.is(new Set(all.map((r) => r.containerId)).size, 1, "one container");
  const pids = new Set(all.map((r) => parse(r.output).pid));
  t.is(pids.size, 2, `two worker processes served the batch: ${[...pids].join(", ")}`);
});

test.serial("a function's own batching window replaces the balancer's", async (t) => {
  await deployAs("batchable-wide", { batchWindowMs: 1500 });
  const call = async (seed: string) => (await ctx.gateway.invoke({ function: "batchable-wide", payload: json({ rounds: 1, seed }) }, { timeoutMs: 60_000 })).message;
  const first = call("first");
  // 600 ms apart: past the balancer's 300 ms window, within the function's 1500 ms.
  await new Promise((r) => setTimeout(r, 600));
  const [a, b] = await Promise.all([first, call("second")]);
  t.is(a.status, InvocationStatus.OK);
  t.is(b.status, InvocationStatus.OK);
  const recs = await eventually(async () => {
    const found = await ctx.traceStore.queryInvocations({ filter: { function: ctx.mesh.qualified("batchable-wide") }, limit: 100 });
    const mine = found.message.records.filter((r) => r.invocationId === a.invocationId || r.invocationId === b.invocationId);
    return mine.length === 2 ? mine : undefined;
  }, "both records");
  t.is(recs[0].batchId, recs[1].batchId, "one batch");
  t.true(recs.every((r) => r.batchSize === 2));
});
