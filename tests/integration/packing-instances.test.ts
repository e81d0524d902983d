// The planner's CPU model through the whole mesh: with a profile saying that an instance's start-up costs
// far more CPU than the work, the balancer sends a batch's pieces to one instance, one piece after the
// other (the next takes the warm container the last one left), instead of all at once, which would make
// the node start containers for the pieces waiting; and PlanPacking shows the instances and the CPU model.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { createGrpcJsClient } from "../../client/grpc-js.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { qualifiedName } from "../../services/gateway/tenancy/tenant-names.js";
import { eventually } from "../helpers/eventually.js";
import { deployFixture, json, useMesh } from "../helpers/test-mesh.js";

const PIECES = 3;
const DEGREE = 2;
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-packing-profile-"));
const profile = path.join(profileDir, "profile.json");
fs.writeFileSync(
  profile,
  JSON.stringify({
    scaling: [
      { x: 1, y: 1 },
      { x: 4, y: 1.2 },
    ],
    service: {
      [qualifiedName("dev", "batchable")]: [
        { x: 1, y: 0.05 },
        { x: 16, y: 0.8 },
      ],
    },
    // R(d) and B(d) as a profiling run writes them: PlanPacking shows them.
    billed: {
      [qualifiedName("dev", "batchable")]: [
        { x: 1, y: 0.04 },
        { x: 16, y: 0.7 },
      ],
    },
    // An instance's start-up: 30 CPU-seconds on 1 core, against 50 ms of work per invocation.
    cpu: { cores: 1, instanceS: 30, pieceS: 0, invocationS: 0.05 },
  }),
);

// faasbatch at a fixed degree of 2 (the window may cut the invocations sent together into more than one
// batch: the bound on pieces in flight is the function's, over its batches).
const ctx = useMesh(test, {
  env: { balancer: { BATCHING_POLICY: "faasbatch", BATCH_PACKING_DEGREE: String(DEGREE), BATCH_WINDOW_STEP_MS: "500", BATCH_WINDOW_MAX_MS: "500", PACKING_PROFILE: profile } },
});

test.after.always(() => fs.rmSync(profileDir, { recursive: true, force: true }));

test.serial("a batch's pieces go to the one instance the CPU model asks for, one after the other, and start no container", async (t) => {
  await deployFixture(ctx, "batchable");
  const warm = (await ctx.gateway.invoke({ function: "batchable", payload: json({ rounds: 1 }) }, { timeoutMs: 60_000 })).message;
  t.is(warm.status, InvocationStatus.OK, warm.error?.message);
  const since = BigInt(Date.now()) * 1000n;
  // Each member some 100 ms of hashing: a piece waiting for a busy container would make the node start one.
  const all = await Promise.all(
    Array.from({ length: PIECES * DEGREE }, async (_, i) => (await ctx.gateway.invoke({ function: "batchable", payload: json({ rounds: 100_000, seed: `m${i}` }) }, { timeoutMs: 60_000 })).message),
  );
  t.true(
    all.every((r) => r.status === InvocationStatus.OK),
    all.map((r) => r.error?.message).join(" "),
  );
  t.is(new Set(all.map((r) => r.containerId)).size, 1, "one container served every piece");
  t.is(all[0].containerId, warm.containerId, "the warm one");
  const recs = await eventually(async () => {
    const { message } = await ctx.traceStore.queryInvocations({ filter: { function: ctx.mesh.qualified("batchable"), sinceUnixUs: since }, limit: 100 });
    return message.records.length === all.length ? message.records : undefined;
  }, "a record per member");
  // The pieces ran one after the other: no more than DEGREE members' executions ever overlap.
  // A record's total runs from the gateway's receipt to its answer, waiting in the balancer included: the
  // execution is its last execUs (give or take the answer's way back, the same for every member).
  const spans = recs.map((r) => {
    const end = Number(r.receivedAtUnixUs + r.timings!.totalUs);
    return { start: end - Number(r.timings!.execUs), end };
  });
  const overlapAt = (at: number) => spans.filter((s) => s.start <= at && at < s.end).length;
  t.true(Math.max(...spans.map((s) => overlapAt(s.start))) <= DEGREE, "at most one piece at a time");
  const summary = (await ctx.traceStore.summarize({ filter: { function: ctx.mesh.qualified("batchable"), sinceUnixUs: since } })).message;
  t.is(Number(summary.containersCreated), 0, "no container started for a waiting piece");
});

test.serial("PlanPacking shows the CPU model and the instances it asks for", async (t) => {
  const balancer = createGrpcJsClient(BalancerService, ctx.mesh.url("balancer"));
  try {
    const { message: plan } = await balancer.planPacking({ function: ctx.mesh.qualified("batchable"), invocations: 6, objective: "time" });
    t.is(plan.cpu?.cores, 1);
    t.is(plan.cpu?.instanceSeconds, 30);
    t.deepEqual(
      plan.billed.map((c) => [c.x, c.seconds]),
      [
        [1, 0.04],
        [16, 0.7],
      ],
    );
    t.deepEqual(plan.round, [], "no R(d) in this profile");
    const two = plan.predictions[DEGREE - 1];
    t.is(two.pieces, PIECES);
    t.is(two.instances, 1, "one instance: a second's start-up is 30 CPU-seconds");
    t.true(two.cpuSeconds >= 30);
    t.true(two.stretch > 1, "the CPU floor is the longer");
  } finally {
    balancer.close();
  }
});
