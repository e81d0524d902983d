// CONTAINER_NON_ROOT on real Docker: the whole container, sidecar included, runs as the unprivileged
// function user with every capability dropped and none added (Docker's inspect says so, and so does the
// function from inside); it still runs, times out and replaces a hung worker (a same-uid kill), and it
// starts only COLD or WARM because such a container is never shared.
import * as path from "node:path";
import test from "ava";
import Docker from "dockerode";
import * as grpc from "@grpc/grpc-js";
import { readFunctionDir } from "../../client/function-dir.js";
import { GrpcCallError } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { LABELS } from "../../services/node-manager/labels.js";
import { FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, { env: { "node-manager": { CONTAINER_NON_ROOT: "true" } } });
const docker = new Docker();
const NO_CAPABILITIES = "0000000000000000";

test.serial("every process of the container is uid 10000 with no capability at all, not even in its bounding set", async (t) => {
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "hardened"), { name: "strict" }), { timeoutMs: 600_000 });
  const { message: out } = await ctx.gateway.invoke({ function: "strict", payload: json({}) }, { timeoutMs: 120_000 });
  t.is(out.status, InvocationStatus.OK, out.error?.message);
  t.is(out.startKind, StartKind.COLD);
  const seen = parse(out.output);
  t.log(JSON.stringify(seen));
  t.is(seen.uid, 10_000);
  t.is(seen.gid, 10_000);
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) t.is(seen.status[set], NO_CAPABILITIES, set);
  t.is(seen.status.NoNewPrivs, "1");
  t.deepEqual(seen.interfaces, ["lo"]);
  t.false(seen.writes.root.ok, "the root filesystem is read-only");
  t.false(seen.writes.code.ok, "its code is read-only");
  t.true(seen.writes.home.ok, "its own directory on /tmp is writable");

  const [found] = await docker.listContainers({ filters: { label: [`${LABELS.container}=${out.containerId}`] } });
  const info = await docker.getContainer(found!.Id).inspect();
  t.is(info.Config.User, "10000:10000");
  t.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
  t.deepEqual(info.HostConfig.CapAdd ?? [], []);
  t.deepEqual(info.HostConfig.SecurityOpt, ["no-new-privileges"]);
  t.true((info.HostConfig as { ReadonlyRootfs?: boolean }).ReadonlyRootfs);
  // Docker's init (PID 1) and the sidecar: the same unprivileged user.
  const top = await docker.getContainer(found!.Id).top({ ps_args: "-o pid,uid,comm" });
  const uids = new Set(top.Processes.map((p: string[]) => p[1]));
  t.deepEqual([...uids], ["10000"], JSON.stringify(top.Processes));

  const warm = (await ctx.gateway.invoke({ function: "strict", payload: json({}) }, { timeoutMs: 120_000 })).message;
  t.is(warm.startKind, StartKind.WARM);
});

test.serial("a hung worker is killed at its timeout without any capability, and the next call is served", async (t) => {
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "hangs"), { name: "spin", timeoutMs: 1000 }), { timeoutMs: 600_000 });
  const err = await t.throwsAsync(ctx.gateway.invoke({ function: "spin", payload: json({}) }, { timeoutMs: 120_000 }), { instanceOf: GrpcCallError });
  t.is((err as GrpcCallError).code, grpc.status.DEADLINE_EXCEEDED);
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "echo"), { name: "after" }), { timeoutMs: 600_000 });
  const ok = (await ctx.gateway.invoke({ function: "after", payload: json({ n: 1 }) }, { timeoutMs: 120_000 })).message;
  t.is(ok.status, InvocationStatus.OK);
});
