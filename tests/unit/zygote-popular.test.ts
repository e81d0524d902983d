// The popular (SOCK) set and the plan's stability when a function is added.
import test from "ava";
import { create } from "@bufbuild/protobuf";
import { FunctionSpecSchema } from "../../gen/faas/common/v1/common_pb.js";
import { planPackageSets, popularSet, setId, type FunctionPackages } from "../../services/zygote-builder/planner.js";
import { PlanState } from "../../services/zygote-builder/plan-state.js";

const opts = { maxPackages: 10, minSimilarity: 0.2 };
const fn = (name: string, dependencies: Record<string, string>): FunctionPackages => ({ name, dependencies });

test("the popular set holds the packages most functions use, each at its most used version", (t) => {
  const pop = popularSet(
    [
      fn("a", { lodash: "4.17.21", ms: "2.1.3" }),
      fn("b", { lodash: "4.17.21", ms: "2.1.2" }),
      fn("c", { lodash: "4.17.20", ms: "2.1.3", uuid: "9.0.0" }),
      fn("d", { zod: "3.0.0" }),
      fn("plain", {}),
    ],
    3,
  )!;
  // lodash and ms are used by 3 functions, uuid and zod by 1: uuid wins the tie by name.
  t.deepEqual(pop.packages, { lodash: "4.17.21", ms: "2.1.3", uuid: "9.0.0" });
  t.deepEqual(Object.keys(pop.packages), ["lodash", "ms", "uuid"], "packages sorted by name");
  t.is(pop.id, setId(new Map(Object.entries(pop.packages))));
  // Only a is covered entirely at the chosen versions.
  t.deepEqual(pop.functions, ["a"]);
});

test("popular-set ties are broken by name, for packages and for versions", (t) => {
  const pop = popularSet([fn("a", { b: "1.0.0", a: "2.0.0" }), fn("b", { a: "1.0.0", c: "1.0.0" })], 1)!;
  // a is used twice; its versions tie 1-1 and the smaller version string wins.
  t.deepEqual(pop.packages, { a: "1.0.0" });
  t.deepEqual(pop.functions, []);
  const same = popularSet([fn("b", { a: "1.0.0", c: "1.0.0" }), fn("a", { b: "1.0.0", a: "2.0.0" })], 1)!;
  t.deepEqual(same, pop, "order of the functions does not matter");
});

test("no popular set without dependencies; a function too big for a group still counts", (t) => {
  t.is(popularSet([fn("plain", {})], 5), undefined);
  t.is(popularSet([], 5), undefined);
  const big = fn("big", { a: "1", b: "1", c: "1" });
  t.deepEqual(planPackageSets([big], { maxPackages: 2, minSimilarity: 0.2 }), []);
  t.deepEqual(popularSet([big], 2)!.packages, { a: "1", b: "1" });
});

test("the plan carries the popular set, and a change of it alone is a new generation", (t) => {
  const state = new PlanState({ maxPackages: 1, minSimilarity: 0.2 });
  const spec = (name: string, deps: Record<string, string>) => create(FunctionSpecSchema, { name, dependencies: deps });
  state.deployed(spec("a", { x: "1.0.0" }));
  state.deployed(spec("b", { y: "1.0.0" }));
  t.true(state.replan());
  t.deepEqual(state.plan.popular?.packages, { x: "1.0.0" });
  // The popular set may be one of the groups too (same packages, same id): either way it is found.
  t.deepEqual(state.findSet(state.plan.popular!.id)?.packages, { x: "1.0.0" });
  // A third function that tips popularity to y changes no group, only the popular set.
  state.deployed(spec("c", { y: "1.0.0", z: "1.0.0" }));
  const before = state.plan.sets.map((s) => s.id);
  t.true(state.replan());
  t.deepEqual(state.plan.sets.map((s) => s.id), before);
  t.deepEqual(state.plan.popular?.packages, { y: "1.0.0" });
  t.is(state.setOf("a")?.packages.x, "1.0.0");
  t.is(state.setOf("c"), undefined, "c's two packages exceed the bound of 1");
});

// ---- stability: adding a function must not reshuffle sets it has nothing to do with ----

const base: FunctionPackages[] = [
  fn("img-resize", { sharp: "0.33.0", pngjs: "7.0.0" }),
  fn("img-thumb", { sharp: "0.33.0", pngjs: "7.0.0", "jpeg-js": "0.4.4" }),
  fn("csv-parse", { papaparse: "5.4.1", ms: "2.1.3" }),
  fn("csv-report", { papaparse: "5.4.1", ms: "2.1.3", "escape-html": "1.0.3" }),
  fn("md-render", { marked: "12.0.2", "escape-html": "1.0.3", "sanitize-html": "2.13.0" }),
  fn("hash", { "js-sha3": "0.9.3" }),
  fn("plain", {}),
];

const byFunction = (sets: ReturnType<typeof planPackageSets>) => new Map(sets.flatMap((s) => s.functions.map((f) => [f, s.id] as const)));

test("adding a function with unrelated packages leaves every other set as it was", (t) => {
  const before = planPackageSets(base, opts);
  const after = planPackageSets([...base, fn("zip", { "fflate": "0.8.2" })], opts);
  t.deepEqual(after.filter((s) => !s.functions.includes("zip")), before);
  t.deepEqual(after.find((s) => s.functions.includes("zip"))?.functions, ["zip"]);
});

test("adding a function that joins a set changes only that set", (t) => {
  const before = planPackageSets(base, opts);
  const after = planPackageSets([...base, fn("img-crop", { sharp: "0.33.0", pngjs: "7.0.0" })], opts);
  const img = after.find((s) => s.functions.includes("img-crop"))!;
  t.deepEqual(img.functions, ["img-crop", "img-resize", "img-thumb"]);
  t.is(img.id, before.find((s) => s.functions.includes("img-resize"))!.id, "no new packages: same set, same id, same image");
  t.deepEqual(after.filter((s) => s !== img), before.filter((s) => !s.functions.includes("img-resize")));
});

test("re-deploying a function with the same pins, or in another order, changes nothing", (t) => {
  const before = planPackageSets(base, opts);
  t.deepEqual(planPackageSets([...base].reverse(), opts), before);
  const redeployed = base.map((f) => (f.name === "hash" ? fn("hash", { "js-sha3": "0.9.3" }) : f));
  t.deepEqual(planPackageSets(redeployed, opts), before);
});

test("adding unrelated functions one by one never moves a function that was already placed", (t) => {
  let fns = [...base];
  let previous = byFunction(planPackageSets(fns, opts));
  for (let i = 0; i < 20; i++) {
    fns = [...fns, fn(`solo-${i}`, { [`pkg-${i}`]: "1.0.0", [`lib-${i}`]: "2.0.0" })];
    const now = byFunction(planPackageSets(fns, opts));
    for (const [f, id] of previous) t.is(now.get(f), id, `${f} kept its set after solo-${i}`);
    previous = now;
  }
});
