// pagurus's reserve on real components: with ZYGOTE_RESERVE=1 the node starts a zygote of the package set
// its active functions build from (zygote-builder's image, a real container), while A's executor stays
// A's (its zygote time is far off); B's first invocation is forked from that zygote (HELPER), not cold.
import test from "ava";
import { createGrpcJsClient } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { eventually } from "../helpers/eventually.js";
import { deployFixture, invokeJson, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, {
  env: {
    "node-manager": { NODE_POLICY: "pagurus", ZYGOTE_RESERVE: "1", ZYGOTE_TIME_DEFAULT_MS: "600000", KEEP_ALIVE_MS: "900000", REAPER_INTERVAL_MS: "100", IDLE_AFTER_MS: "0" },
  },
});

const invoke = (fn: string, payload: unknown = {}) => invokeJson(ctx, fn, payload);

test.serial.before(async () => {
  await deployFixture(ctx, "tenant-a");
  await deployFixture(ctx, "tenant-b");
});

test.serial("a reserve zygote of the active set is started and B's first invocation is forked from it", async (t) => {
  const a = await invoke("tenant-a");
  t.is(a.status, InvocationStatus.OK, a.error?.message);
  t.is(a.startKind, StartKind.COLD);

  const nm = createGrpcJsClient(NodeManagerService, ctx.mesh.url("node-manager"));
  try {
    let reserveId = "";
    await eventually(
      async () => {
        const zygote = (await nm.listContainers({})).message.containers.find((c) => c.role === ContainerRole.ZYGOTE && c.state === ContainerState.IDLE);
        reserveId = zygote?.containerId ?? "";
        return reserveId !== "";
      },
      "a reserve zygote to be up",
      120_000,
      100,
    );
    t.not(reserveId, a.containerId, "the reserve is a container of its own: A keeps its executor");
    const executor = (await nm.listContainers({})).message.containers.find((c) => c.containerId === a.containerId);
    t.is(executor?.role, ContainerRole.EXECUTOR);

    const b = await invoke("tenant-b", {});
    t.is(b.status, InvocationStatus.OK, b.error?.message);
    t.is(b.startKind, StartKind.HELPER);
    t.is(b.containerId, reserveId, "B runs in the reserve zygote");
  } finally {
    nm.close();
  }
});
