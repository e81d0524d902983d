import test from "ava";
import { create } from "@bufbuild/protobuf";
import { FakeClock } from "../../common/clock.js";
import { ContainerRole, ContainerState, ContainerStateChangedSchema, NodeHeartbeatSchema } from "../../gen/faas/events/v1/events_pb.js";
import { ClusterView } from "../../services/balancer/cluster-view.js";
import { chooseNode } from "../../services/balancer/routing.js";

test("a warm executor slot beats free memory, free memory beats load", (t) => {
  const nodes = [
    { nodeId: "a", warmSlots: 0, zygotes: 0, freeMb: 4000, inflight: 0 },
    { nodeId: "b", warmSlots: 1, zygotes: 0, freeMb: 0, inflight: 5 },
    { nodeId: "c", warmSlots: 0, zygotes: 0, freeMb: 100, inflight: 0 },
  ];
  t.deepEqual(chooseNode(nodes, 256), { nodeId: "b", reason: "warm-executor" });
  t.deepEqual(chooseNode(nodes.filter((n) => n.nodeId !== "b"), 256), { nodeId: "a", reason: "free-memory" });
  t.deepEqual(chooseNode([{ nodeId: "x", warmSlots: 0, zygotes: 0, freeMb: 10, inflight: 3 }, { nodeId: "y", warmSlots: 0, zygotes: 0, freeMb: 10, inflight: 1 }], 256), { nodeId: "y", reason: "least-loaded" });
  t.is(chooseNode([], 256), undefined);
});

test("among nodes with memory, the least loaded wins", (t) => {
  const nodes = [
    { nodeId: "a", warmSlots: 0, zygotes: 0, freeMb: 4000, inflight: 4 },
    { nodeId: "b", warmSlots: 0, zygotes: 0, freeMb: 1000, inflight: 1 },
  ];
  t.is(chooseNode(nodes, 256)?.nodeId, "b");
});

function event(nodeId: string, containerId: string, fn: string, state: ContainerState, atUs: bigint) {
  return create(ContainerStateChangedSchema, { nodeId, containerId, function: fn, role: ContainerRole.EXECUTOR, state, memoryMb: 256, atUnixUs: atUs });
}

test("the view counts warm slots from events and the invocations in flight, and forgets stale nodes", (t) => {
  const clock = new FakeClock(1000);
  const view = new ClusterView(clock, 5000);
  view.heartbeat(create(NodeHeartbeatSchema, { nodeId: "n1", address: "http://127.0.0.1:1", memoryCapacityMb: 1024 }));
  view.containerChanged(event("n1", "c1", "f", ContainerState.STARTING, 1n));
  t.deepEqual(view.loads("f", 1), [{ nodeId: "n1", warmSlots: 0, zygotes: 0, freeMb: 768, inflight: 0 }]);
  view.containerChanged(event("n1", "c1", "f", ContainerState.IDLE, 3n));
  // An older event arriving late changes nothing.
  view.containerChanged(event("n1", "c1", "f", ContainerState.REMOVING, 2n));
  t.is(view.loads("f", 1)[0].warmSlots, 1);
  t.is(view.loads("f", 4)[0].warmSlots, 4);
  t.is(view.loads("g", 1)[0].warmSlots, 0);
  // An invocation sent there uses a slot until it is answered, whatever the events say meanwhile.
  const done = view.sent("n1", "f");
  view.containerChanged(event("n1", "c1", "f", ContainerState.BUSY, 4n));
  t.is(view.loads("f", 1)[0].warmSlots, 0);
  t.is(view.loads("f", 4)[0].warmSlots, 3);
  t.is(view.loads("f", 1)[0].inflight, 1);
  done();
  t.is(view.loads("f", 1)[0].warmSlots, 1);
  view.containerChanged(event("n1", "c1", "f", ContainerState.REMOVED, 5n));
  t.is(view.loads("f", 1)[0].freeMb, 1024);
  t.is(view.loads("f", 1)[0].warmSlots, 0);
  clock.advance(5001);
  t.deepEqual(view.live(), []);
});

test("a node's own container list replaces older facts", (t) => {
  const clock = new FakeClock(0);
  const view = new ClusterView(clock, 5000);
  view.heartbeat(create(NodeHeartbeatSchema, { nodeId: "n1", address: "a", memoryCapacityMb: 1024 }));
  view.containerChanged(event("n1", "gone", "f", ContainerState.IDLE, 10n));
  view.containerChanged(event("n1", "newer", "f", ContainerState.IDLE, 30n));
  view.replaceContainers("n1", [{ containerId: "listed", function: "f", role: ContainerRole.EXECUTOR, state: ContainerState.IDLE, memoryMb: 128 }], 20n);
  const ids = [...view.get("n1")!.containers.keys()].sort();
  t.deepEqual(ids, ["listed", "newer"]);
});

test("whenLive waits for a first heartbeat", async (t) => {
  const view = new ClusterView({ now: () => Date.now() }, 5000);
  const waiting = view.whenLive(5000);
  view.heartbeat(create(NodeHeartbeatSchema, { nodeId: "n1", address: "a" }));
  t.is((await waiting).length, 1);
  t.deepEqual(await new ClusterView({ now: () => Date.now() }, 5000).whenLive(0), []);
});
