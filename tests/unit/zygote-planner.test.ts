import test from "ava";
import { create } from "@bufbuild/protobuf";
import { FunctionSpecSchema } from "../../gen/faas/common/v1/common_pb.js";
import { jaccard, mergePackages, planPackageSets } from "../../services/zygote-builder/planner.js";
import { PlanState } from "../../services/zygote-builder/plan-state.js";

const m = (o: Record<string, string>) => new Map(Object.entries(o));
const opts = { maxPackages: 10, minSimilarity: 0.2 };

test("jaccard counts a package as shared only at the same version", (t) => {
  t.is(jaccard(m({ a: "1", b: "1" }), m({ a: "1", b: "1" })), 1);
  t.is(jaccard(m({ a: "1", b: "1" }), m({ a: "1", c: "1" })), 1 / 3);
  t.is(jaccard(m({ a: "1" }), m({ a: "2" })), 0);
  t.is(jaccard(m({}), m({})), 0);
});

test("two versions of one package never share a set", (t) => {
  t.is(mergePackages(m({ a: "1" }), m({ a: "2" })), undefined);
  t.deepEqual(mergePackages(m({ a: "1" }), m({ b: "2" })), m({ a: "1", b: "2" }));
  const plan = planPackageSets(
    [
      { name: "f", dependencies: { lodash: "4.17.21", marked: "12.0.2" } },
      { name: "g", dependencies: { lodash: "4.17.20", marked: "12.0.2" } },
    ],
    opts,
  );
  t.is(plan.length, 2);
  for (const set of plan) t.is(set.functions.length, 1);
});

test("similar functions are grouped, dissimilar ones are not, and the size bound holds", (t) => {
  const plan = planPackageSets(
    [
      { name: "resize", dependencies: { sharp: "0.33.0", pngjs: "7.0.0" } },
      { name: "thumb", dependencies: { sharp: "0.33.0", pngjs: "7.0.0", jpeg: "0.3.1" } },
      { name: "csv", dependencies: { papaparse: "5.4.1" } },
      { name: "plain", dependencies: {} },
    ],
    opts,
  );
  t.deepEqual(
    plan.map((s) => s.functions),
    [["csv"], ["resize", "thumb"]],
  );
  t.deepEqual(plan[1].packages, { jpeg: "0.3.1", pngjs: "7.0.0", sharp: "0.33.0" });
  const bounded = planPackageSets(
    [
      { name: "a", dependencies: { x: "1.0.0", y: "1.0.0" } },
      { name: "b", dependencies: { x: "1.0.0", z: "1.0.0" } },
    ],
    { maxPackages: 2, minSimilarity: 0 },
  );
  t.is(bounded.length, 2);
});

test("set ids are content addresses, stable across plans", (t) => {
  const one = planPackageSets([{ name: "a", dependencies: { x: "1.0.0" } }], opts);
  const two = planPackageSets([{ name: "b", dependencies: { x: "1.0.0" } }], opts);
  t.is(one[0].id, two[0].id);
});

test("the plan changes generation only when the sets change, and a late snapshot cannot undo events", (t) => {
  const state = new PlanState(opts);
  const spec = (name: string, deps: Record<string, string>) => create(FunctionSpecSchema, { name, dependencies: deps });
  state.deployed(spec("a", { x: "1.0.0" }));
  t.true(state.replan());
  t.is(state.plan.generation, 1n);
  t.false(state.replan());
  state.beginSnapshot();
  state.removed("a");
  state.deployed(spec("b", { y: "1.0.0" }));
  // The gateway's list was taken before the events above.
  state.applySnapshot([spec("a", { x: "1.0.0" })]);
  t.true(state.replan());
  t.deepEqual(state.plan.sets.map((s) => s.functions), [["b"]]);
});
