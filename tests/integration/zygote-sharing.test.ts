// Container sharing on real components: tenant A's executor turns into a zygote in place (pagurus policy,
// short zygote time), is lent to tenant B (HELPER), and B sees nothing of A: not its file, not its
// secret, not its code. HELPER start-up is compared with COLD in the same run.
import * as path from "node:path";
import test from "ava";
import { createGrpcJsClient } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { eventually } from "../helpers/eventually.js";
import { deployFixture, invokeJson, parse, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, {
  env: {
    "node-manager": { NODE_POLICY: "pagurus", ZYGOTE_TIME_DEFAULT_MS: "1000", REAPER_INTERVAL_MS: "100", IDLE_AFTER_MS: "0" },
  },
});

const invoke = (fn: string, payload: unknown = {}) => invokeJson(ctx, fn, payload);

test.serial.before(async () => {
  await deployFixture(ctx, "tenant-a");
  await deployFixture(ctx, "tenant-b");
});

test.serial("A's executor becomes a zygote in place and is lent to B, which can read none of A's file, secret or code", async (t) => {
  const a = await invoke("tenant-a");
  t.is(a.status, InvocationStatus.OK, a.error?.message);
  t.is(a.startKind, StartKind.COLD);
  const fromA = parse(a.output);
  t.is(fromA.twoSeconds, 2000, "A imports its pinned package from the zygote set");

  const nm = createGrpcJsClient(NodeManagerService, ctx.mesh.url("node-manager"));
  try {
    await eventually(
      async () => {
        const c = (await nm.listContainers({})).message.containers.find((x) => x.containerId === a.containerId);
        return c?.role === ContainerRole.ZYGOTE && c.state === ContainerState.IDLE;
      },
      "A's executor to become an idle zygote",
      60_000,
      50,
    );
    const b = await invoke("tenant-b", { file: fromA.file, codeFile: fromA.codeFile, codeDir: path.dirname(fromA.codeFile) });
    t.is(b.status, InvocationStatus.OK, b.error?.message);
    t.is(b.startKind, StartKind.HELPER);
    t.is(b.containerId, a.containerId, "B runs in the container A left");
    const seen = parse(b.output);
    t.not(seen.pid, fromA.pid, "B's worker is a new process");
    t.not(seen.uid, fromA.uid, "B's worker runs under its own uid");
    t.is(seen.secret, null, "A's secret is not in B's environment");
    t.true(seen.envKeys.includes("B_ONLY"));
    t.false(seen.envKeys.includes("A_SECRET"));
    t.false(seen.aFile.ok, `A's file must be gone or unreadable, got ${JSON.stringify(seen.aFile)}`);
    t.false(seen.aCode.ok, `A's code must be unreadable, got ${JSON.stringify(seen.aCode)}`);
    t.false(seen.aCodeDir.ok, "A's code directory must not be listable");
    t.false(seen.sidecarEnv.ok, "the container's own environment (which holds A's env) must not be readable");
    t.is(seen.oneMinute, 60_000, "B's pinned package comes from the zygote set");

    const listed = (await nm.listContainers({})).message.containers.find((x) => x.containerId === a.containerId);
    t.is(listed?.role, ContainerRole.HELPER);
    t.is(listed?.function, ctx.mesh.qualified("tenant-b"));
    t.is(listed?.memoryMb, 192, "the lent container has B's memory limit");

    // Start-up of the two kinds in this run: forking a template is far cheaper than creating a container.
    const cold = a.timings!.startupUs;
    const helper = b.timings!.startupUs;
    t.log(`COLD start-up ${Number(cold) / 1000} ms, HELPER start-up ${Number(helper) / 1000} ms (init ${Number(b.timings!.initUs) / 1000} ms)`);
    t.true(helper < cold, "a HELPER start is cheaper than a COLD one");
  } finally {
    nm.close();
  }
});

test.serial("trace-store counts the HELPER start and keeps B's record with its start kind", async (t) => {
  await eventually(
    async () => {
      const s = (await ctx.traceStore.summarize({ filter: { function: ctx.mesh.qualified("tenant-b") } })).message;
      return s.invocations >= 1n && s.latency.some((l) => l.startKind === StartKind.HELPER);
    },
    "B's HELPER record in trace-store",
    30_000,
    100,
  );
  const all = (await ctx.traceStore.summarize({})).message;
  t.true(all.helperStarts >= 1n);
  t.true(all.memoryMbSeconds > 0);
});
