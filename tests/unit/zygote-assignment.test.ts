// zygote-builder's assignment and announcements, and node-manager's catalog following a re-plan, with
// fake images (no Docker, no npm).
import test from "ava";
import { create } from "@bufbuild/protobuf";
import pino from "pino";
import { FunctionCodeSchema, FunctionSpecSchema, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import type { ZygoteImageBuilt } from "../../gen/faas/events/v1/events_pb.js";
import { ZygoteBuilder } from "../../services/zygote-builder/builder.js";
import { PlanState } from "../../services/zygote-builder/plan-state.js";
import type { ZygoteSetRef } from "../../services/zygote-builder/zygote-images.js";
import { FunctionCatalog } from "../../services/node-manager/function-catalog.js";
import type { ZygoteRef } from "../../services/node-manager/function-images.js";

const logger = pino({ level: "silent" });
const spec = (name: string, dependencies: Record<string, string>, digest = `sha256:${name}`) => create(FunctionSpecSchema, { name, dependencies, digest });

function fakeZygoteImages() {
  const built = new Map<string, string>();
  const calls: string[] = [];
  return {
    calls,
    preBuilt: (id: string) => built.set(id, `faas-zygote/${id}:rt`),
    imageOf: (id: string) => built.get(id),
    async ensure(set: ZygoteSetRef) {
      calls.push(set.id);
      const had = built.has(set.id);
      built.set(set.id, `faas-zygote/${set.id}:rt`);
      return { image: built.get(set.id)!, buildUs: had ? 0n : 1000n, built: !had };
    },
  };
}

function builder(options: { buildPopular?: boolean } = {}) {
  const images = fakeZygoteImages();
  const events: ZygoteImageBuilt[] = [];
  const state = new PlanState({ maxPackages: 3, minSimilarity: 0.2 });
  const b = new ZygoteBuilder({ state, images, logger, publish: (e) => events.push(e), buildPopular: options.buildPopular ?? false });
  return { b, images, events, state };
}

test("AssignFunction puts overlapping functions in one set, builds it once, and announces it", async (t) => {
  const { b, images, events } = builder();
  const one = await b.assign(spec("f", { ms: "2.1.3", "escape-html": "1.0.3" }));
  const two = await b.assign(spec("g", { ms: "2.1.3" }));
  t.truthy(one.set?.image);
  t.is(two.set?.id, one.set?.id);
  t.deepEqual(two.set?.functions, ["f", "g"]);
  t.true(two.generation > one.generation);
  t.is(events.length, 1, "the second assignment found the image built and announced");
  t.is(events[0].setId, one.set!.id);
  t.deepEqual(events[0].packages, { "escape-html": "1.0.3", ms: "2.1.3" });
  t.deepEqual(images.calls, [one.set!.id, one.set!.id]);
  t.is(b.plan().sets[0].image, one.set!.image, "GetPlan shows the built image");
});

test("an image found already built is announced once, on its first request", async (t) => {
  const { b, images, events, state } = builder();
  state.deployed(spec("f", { ms: "2.1.3" }));
  b.replan("test");
  const id = state.plan.sets[0].id;
  images.preBuilt(id);
  await b.build(id);
  await b.build(id);
  t.is(events.length, 1);
  t.is(events[0].buildUs, 0n);
});

test("no set for a function without dependencies or with too many; a conflicting version gets another set", async (t) => {
  const { b } = builder();
  t.is((await b.assign(spec("plain", {}))).set, undefined);
  t.is((await b.assign(spec("big", { a: "1", b: "1", c: "1", d: "1" }))).set, undefined);
  const one = await b.assign(spec("f", { ms: "2.1.3" }));
  const other = await b.assign(spec("g", { ms: "2.1.2" }));
  t.not(other.set?.id, one.set?.id);
  await t.throwsAsync(b.build("zs-nope"), { message: /not in the current plan/ });
});

test("a re-plan that changes the popular set builds it in the background", async (t) => {
  const { b, images, state } = builder({ buildPopular: true });
  state.deployed(spec("f", { x: "1.0.0" }));
  state.deployed(spec("g", { y: "1.0.0" }));
  b.replan("test");
  await new Promise((r) => setImmediate(r));
  t.deepEqual(images.calls, [state.plan.popular!.id]);
  t.truthy(b.plan().popular?.image);
  b.replan("unchanged");
  await new Promise((r) => setImmediate(r));
  t.is(images.calls.length, 1);
});

// ---- node-manager's catalog ----

function fakeFunctionImages() {
  const builds: Array<{ name: string; setId?: string; how: "ensure" | "rebase" }> = [];
  const codeDirs = (s: FunctionSpec) => ({ code: `/store/${s.name}/code`, full: `/store/${s.name}/full` });
  const image = (s: FunctionSpec, z?: ZygoteRef) => `faas-fn/${s.name}:${s.digest}-${z?.setId ?? "none"}`;
  return {
    builds,
    async ensure(s: FunctionSpec, _code: unknown, z?: ZygoteRef) {
      builds.push({ name: s.name, setId: z?.setId, how: "ensure" });
      return { image: image(s, z), buildUs: 1n, codeDirs: codeDirs(s) };
    },
    async rebase(s: FunctionSpec, z?: ZygoteRef) {
      builds.push({ name: s.name, setId: z?.setId, how: "rebase" });
      return { image: image(s, z), buildUs: 1n, codeDirs: codeDirs(s) };
    },
    async list() {
      return [];
    },
    async remove() {},
    storedCode: codeDirs,
    removeCode() {},
  };
}

/** An assigner backed by a real ZygoteBuilder with fake zygote images. */
function assignerOver(b: ZygoteBuilder) {
  return {
    async assign(s: FunctionSpec) {
      const r = await b.assign(s);
      return r.set && { setId: r.set.id, image: r.set.image, packages: { ...r.set.packages }, generation: r.generation };
    },
    async plan() {
      return b.plan();
    },
  };
}

test("the catalog builds FROM the set, and rebuilds the functions a re-plan moved to a new set", async (t) => {
  const { b } = builder();
  const images = fakeFunctionImages();
  const catalog = new FunctionCatalog({ images: images as never, assigner: assignerOver(b), logger });
  const code = create(FunctionCodeSchema, {});
  const f = await catalog.prepare(spec("f", { ms: "2.1.3", "escape-html": "1.0.3" }), code);
  t.truthy(f.entry.setId);
  t.deepEqual(f.entry.packages, { "escape-html": "1.0.3", ms: "2.1.3" });
  t.deepEqual(f.rebased, []);
  // g joins f's set and brings a new package: the set (and its id) changes, so f moves with it.
  const g = await catalog.prepare(spec("g", { ms: "2.1.3", "escape-html": "1.0.3", debug: "4.3.4" }), code);
  t.deepEqual(g.rebased, ["f"]);
  t.is(catalog.get("f")!.setId, g.entry.setId);
  t.is(catalog.get("f")!.image, `faas-fn/f:sha256:f-${g.entry.setId}`);
  t.deepEqual(images.builds.map((x) => `${x.how} ${x.name}`), ["ensure f", "ensure g", "rebase f"]);
  // A function without dependencies: plain runtime, nothing moves.
  const p = await catalog.prepare(spec("plain", {}), code);
  t.is(p.entry.setId, undefined);
  t.deepEqual(p.entry.packages, {});
  t.deepEqual(p.rebased, []);
  t.deepEqual(catalog.all().map((e) => e.spec.name).sort(), ["f", "g", "plain"]);
  t.is(catalog.remove("plain")?.spec.name, "plain");
  t.is(catalog.get("plain"), undefined);
});

test("without zygote-builder the catalog builds on the runtime image", async (t) => {
  const images = fakeFunctionImages();
  const catalog = new FunctionCatalog({ images: images as never, assigner: { assign: async () => undefined, plan: async () => undefined }, logger });
  const r = await catalog.prepare(spec("f", { ms: "2.1.3" }), create(FunctionCodeSchema, {}));
  t.is(r.entry.setId, undefined);
  t.deepEqual(images.builds, [{ name: "f", setId: undefined, how: "ensure" }]);
});
