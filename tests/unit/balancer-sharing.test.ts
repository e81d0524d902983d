// The sharing-aware part of the balancer: zygotes and stem cells rank between warm executors and cold
// starts; the view knows which zygotes cover which function and which are already promised.
import test from "ava";
import { create } from "@bufbuild/protobuf";
import { FakeClock } from "../../common/clock.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, ContainerStateChangedSchema, NodeHeartbeatSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import { ClusterView } from "../../services/balancer/cluster-view.js";
import { FunctionCatalog } from "../../services/balancer/function-catalog.js";
import { covers, dependencyKeys, packageSet } from "../../services/balancer/package-sets.js";
import { chooseNode, type NodeLoad } from "../../services/balancer/routing.js";

const load = (nodeId: string, o: Partial<NodeLoad> = {}): NodeLoad => ({ nodeId, warmSlots: 0, zygotes: 0, freeMb: 4096, inflight: 0, ...o });

test("order of preference: warm slot, then covering zygote, then free memory, then least loaded", (t) => {
  const warm = load("warm", { warmSlots: 1, freeMb: 0, inflight: 9 });
  const zygote = load("zygote", { zygotes: 1, freeMb: 0, inflight: 5 });
  const roomy = load("roomy", { inflight: 0 });
  const full = load("full", { freeMb: 10, inflight: 1 });
  t.deepEqual(chooseNode([roomy, zygote, warm, full], 256), { nodeId: "warm", reason: "warm-executor" });
  t.deepEqual(chooseNode([roomy, zygote, full], 256), { nodeId: "zygote", reason: "zygote" });
  t.deepEqual(chooseNode([roomy, full], 256), { nodeId: "roomy", reason: "free-memory" });
  t.deepEqual(chooseNode([full], 256), { nodeId: "full", reason: "least-loaded" });
});

test("among zygote holders the least loaded wins, then the one with more zygotes", (t) => {
  t.is(chooseNode([load("a", { zygotes: 3, inflight: 4 }), load("b", { zygotes: 1, inflight: 1 })], 256)?.nodeId, "b");
  t.is(chooseNode([load("a", { zygotes: 1, inflight: 1 }), load("b", { zygotes: 2, inflight: 1 })], 256)?.nodeId, "b");
});

test("coverage is by exact version; unknown dependencies are covered by nothing, none by anything", (t) => {
  const set = packageSet(["lodash@4.17.21", "sharp@0.33.1"]);
  t.true(covers(set, dependencyKeys({ sharp: "0.33.1" })));
  t.false(covers(set, dependencyKeys({ sharp: "0.33.2" })));
  t.false(covers(set, dependencyKeys({ sharp: "0.33.1", uuid: "9.0.0" })));
  t.true(covers(set, []));
  t.true(covers(packageSet([]), []));
  t.false(covers(set, undefined));
  t.is(packageSet(["a@1", "b@2"]), packageSet(["a@1", "b@2"]), "equal sets are shared");
});

test("the catalog learns dependencies from specs, forgets removed functions, and distrusts other digests", (t) => {
  const catalog = new FunctionCatalog();
  t.is(catalog.dependencies("f"), undefined);
  catalog.deployed({ name: "f", digest: "sha256:1", dependencies: { sharp: "0.33.1", axios: "1.6.0" } });
  t.deepEqual(catalog.dependencies("f", "sha256:1"), ["axios@1.6.0", "sharp@0.33.1"]);
  t.deepEqual(catalog.dependencies("f"), ["axios@1.6.0", "sharp@0.33.1"]);
  t.is(catalog.dependencies("f", "sha256:2"), undefined);
  catalog.removed("f");
  t.is(catalog.dependencies("f", "sha256:1"), undefined);
});

let sequence = 0;
function event(containerId: string, role: ContainerRole, state: ContainerState, o: Partial<Omit<ContainerStateChanged, "$typeName">> = {}) {
  sequence++;
  return create(ContainerStateChangedSchema, { nodeId: "n1", containerId, role, state, memoryMb: 256, atUnixUs: BigInt(sequence), sequence: BigInt(sequence), ...o });
}

function viewWithNode() {
  const view = new ClusterView(new FakeClock(0), 5000);
  view.heartbeat(create(NodeHeartbeatSchema, { nodeId: "n1", address: "a", memoryCapacityMb: 4096 }));
  return view;
}

const SHARP = ["sharp@0.33.1"];
const zygotes = (view: ClusterView, fn: string, deps: readonly string[] | undefined) => view.loads(fn, 1, deps)[0].zygotes;

test("an idle zygote counts for the functions it covers, only while idle", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("z1", ContainerRole.ZYGOTE, ContainerState.STARTING, { packages: ["lodash@4.17.21", "sharp@0.33.1"] }));
  t.is(zygotes(view, "f", SHARP), 0, "a starting zygote is not ready");
  view.containerChanged(event("z1", ContainerRole.ZYGOTE, ContainerState.IDLE, { packages: ["lodash@4.17.21", "sharp@0.33.1"] }));
  t.is(zygotes(view, "f", SHARP), 1);
  t.is(zygotes(view, "g", ["sharp@0.32.0"]), 0, "another version is not covered");
  t.is(zygotes(view, "h", []), 1, "a function without dependencies fits any zygote");
  t.is(zygotes(view, "u", undefined), 0, "unknown dependencies never match a zygote");
  t.deepEqual(chooseNode(view.loads("f", 1, SHARP), 256), { nodeId: "n1", reason: "zygote" });
});

test("an idle stem cell counts for every function, even one of unknown dependencies", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("s1", ContainerRole.STEM_CELL, ContainerState.IDLE));
  t.is(zygotes(view, "f", SHARP), 1);
  t.is(zygotes(view, "u", undefined), 1);
});

test("an executor converted in place keeps the packages of its image; lent as a helper it serves its renter", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("c1", ContainerRole.EXECUTOR, ContainerState.IDLE, { function: "f", packages: SHARP, startKind: StartKind.COLD }));
  t.is(view.loads("f", 1, SHARP)[0].warmSlots, 1);
  t.is(zygotes(view, "g", SHARP), 0, "an executor of f is no zygote for g");
  // Conversion: a role change without a new package list.
  view.containerChanged(event("c1", ContainerRole.ZYGOTE, ContainerState.IDLE, { previousState: ContainerState.IDLE }));
  t.is(view.loads("f", 1, SHARP)[0].warmSlots, 0);
  t.is(zygotes(view, "g", SHARP), 1);
  // Lent to g: no longer a zygote, and once ready a warm slot of g.
  view.containerChanged(event("c1", ContainerRole.HELPER, ContainerState.STARTING, { function: "g", startKind: StartKind.HELPER, previousState: ContainerState.IDLE }));
  t.is(zygotes(view, "g", SHARP), 0);
  t.is(view.loads("g", 1, SHARP)[0].warmSlots, 0);
  view.containerChanged(event("c1", ContainerRole.HELPER, ContainerState.IDLE, { function: "g", startKind: StartKind.HELPER }));
  t.is(view.loads("g", 1, SHARP)[0].warmSlots, 1);
  t.deepEqual(chooseNode(view.loads("g", 1, SHARP), 256), { nodeId: "n1", reason: "warm-executor" });
});

test("a zygote promised to an invocation in flight is not offered to the next one", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("z1", ContainerRole.ZYGOTE, ContainerState.IDLE, { packages: SHARP }));
  t.is(chooseNode(view.loads("f", 1, SHARP), 256)?.reason, "zygote");
  const first = view.sent("n1", "f", true);
  // A concurrent second invocation (of f or of another covered function) must not count the same zygote.
  t.is(zygotes(view, "f", SHARP), 0);
  t.is(zygotes(view, "g", SHARP), 0);
  t.is(chooseNode(view.loads("f", 1, SHARP), 256)?.reason, "free-memory");
  // The node lends it: the claim is now visible in the container itself, not counted twice.
  view.containerChanged(event("z1", ContainerRole.HELPER, ContainerState.STARTING, { function: "f", startKind: StartKind.HELPER, packages: SHARP }));
  t.is(view.get("n1")!.zygoteClaims.size, 0);
  view.containerChanged(event("z2", ContainerRole.ZYGOTE, ContainerState.IDLE, { packages: SHARP }));
  t.is(zygotes(view, "f", SHARP), 1);
  first();
  t.is(zygotes(view, "f", SHARP), 1, "ending the invocation releases nothing twice");

  // An invocation that ends before any lend event (the node cold-started instead) gives its claim back.
  const second = view.sent("n1", "f", true);
  t.is(zygotes(view, "f", SHARP), 0);
  second();
  t.is(zygotes(view, "f", SHARP), 1);
});

test("a node's container list keeps the packages learnt from events", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("z1", ContainerRole.ZYGOTE, ContainerState.IDLE, { packages: SHARP, atUnixUs: 10n }));
  view.replaceContainers("n1", [{ containerId: "z1", function: "", role: ContainerRole.ZYGOTE, state: ContainerState.IDLE, memoryMb: 256 }], 20n);
  t.is(zygotes(view, "f", SHARP), 1);
  // A zygote first seen in a list, packages unknown: it still fits a function without dependencies.
  view.replaceContainers("n1", [{ containerId: "z9", function: "", role: ContainerRole.ZYGOTE, state: ContainerState.IDLE, memoryMb: 256 }], 30n);
  t.is(zygotes(view, "f", SHARP), 0);
  t.is(zygotes(view, "h", []), 1);
});

test("a zygote serves no function, not even the empty name", (t) => {
  const view = viewWithNode();
  view.containerChanged(event("z1", ContainerRole.ZYGOTE, ContainerState.IDLE, { packages: SHARP }));
  t.is(view.loads("", 1, SHARP)[0].warmSlots, 0, "a zygote serves no function, not even the empty name");
});
