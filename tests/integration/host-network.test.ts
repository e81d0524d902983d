// The operator's switch and the lending rules around it, on a node that keeps a stem cell ready (prewarm):
// with ALLOW_HOST_NETWORK on the gateway and the node, a function that asks for the host's network gets it
// and keeps every other hardening setting, and starts COLD even with an idle stem cell there (it never
// borrows a container without network, and the pool never lends its executor:
// tests/unit/node-manager-hardening.test.ts). A function without it claims the stem cell (PREWARM) and
// finds its injected code directory, on the host's disk, closed to writes.
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import Docker from "dockerode";
import { readFunctionDir } from "../../client/function-dir.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { LABELS } from "../../services/node-manager/labels.js";
import { eventually } from "../helpers/eventually.js";
import { FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, { env: { all: { ALLOW_HOST_NETWORK: "true" }, "node-manager": { NODE_POLICY: "prewarm", STEM_CELLS: "1", REAPER_INTERVAL_MS: "100" } } });
const docker = new Docker();

/** Resolves once the node has a running stem cell (its sidecar answered before the pool marked it IDLE). */
async function stemCellReady(): Promise<void> {
  await eventually(
    async () => (await docker.listContainers({ filters: { label: [`${LABELS.node}=${ctx.mesh.nodeId}`, `${LABELS.role}=stem-cell`] } })).length > 0,
    "a running stem cell",
    60_000,
    50,
  );
  await new Promise((r) => setTimeout(r, 300));
}

async function inspect(containerId: string) {
  const [found] = await docker.listContainers({ filters: { label: [`${LABELS.container}=${containerId}`] } });
  return docker.getContainer(found!.Id).inspect();
}

test.serial("an allowed host-network function sees the host's interfaces, is otherwise as hardened, and starts COLD beside an idle stem cell", async (t) => {
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "hardened"), { name: "host-net", hostNetwork: true }), { timeoutMs: 600_000 });
  await stemCellReady();
  const { message: out } = await ctx.gateway.invoke({ function: "host-net", payload: json({}) }, { timeoutMs: 120_000 });
  t.is(out.status, InvocationStatus.OK, out.error?.message);
  t.is(out.startKind, StartKind.COLD, "a host-network function does not borrow a stem cell");
  const seen = parse(out.output);
  t.deepEqual(seen.interfaces, Object.keys(os.networkInterfaces()).sort(), "the host's interfaces");
  t.not(seen.uid, 0);
  t.is(seen.status.CapEff, "0000000000000000");
  t.is(seen.status.NoNewPrivs, "1");
  t.false(seen.writes.root.ok);

  const info = await inspect(out.containerId);
  t.is(info.HostConfig.NetworkMode, "host");
  t.true((info.HostConfig as { ReadonlyRootfs?: boolean }).ReadonlyRootfs);
  t.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
});

test.serial("a claimed stem cell (PREWARM) is as hardened, and the code injected into it cannot be written", async (t) => {
  await ctx.gateway.deployFunction(readFunctionDir(path.join(FIXTURES, "hardened"), { name: "claimer" }), { timeoutMs: 600_000 });
  await stemCellReady();
  const { message: out } = await ctx.gateway.invoke({ function: "claimer", payload: json({}) }, { timeoutMs: 120_000 });
  t.is(out.status, InvocationStatus.OK, out.error?.message);
  t.is(out.startKind, StartKind.PREWARM);
  const seen = parse(out.output);
  t.true(seen.cwd.startsWith("/run/faas/code/"), `cwd ${seen.cwd}`);
  t.deepEqual(seen.writes.code, { ok: false, code: "EACCES" }, "the injected code directory (host disk) is not writable");
  t.deepEqual(seen.interfaces, ["lo"]);
  t.not(seen.uid, 0);
  t.is(seen.status.CapEff, "0000000000000000");
  t.true(seen.writes.home.ok);
  t.is((await inspect(out.containerId)).HostConfig.NetworkMode, "none");
});
