import test from "ava";
import type { TraceFunction } from "../../loadgen/workload/model.js";
import { mulberry32, streamFor } from "../../loadgen/workload/prng.js";
import { byRank, drawWithoutReplacement, sampleFunctions, strataBounds } from "../../loadgen/workload/sampling.js";

// 103 functions in 26 apps; function i was invoked i times, so rank r (0-based) is count 103 - r.
const functions: TraceFunction[] = Array.from({ length: 103 }, (_, i) => ({
  id: `f${String(i + 1).padStart(3, "0")}`,
  app: `app${(i % 26) + 1}`,
  avgDurationMs: 100,
  dailyCount: i + 1,
}));

test("mulberry32 is deterministic, in [0, 1), and streams differ by seed and by label", (t) => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 1000 }, () => a());
  t.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  t.true(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.true(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  t.not(streamFor(1, "sample")(), streamFor(2, "sample")());
  t.not(streamFor(1, "sample")(), streamFor(1, "arrivals:f1")());
  t.not(streamFor(1, "x")(), streamFor(1 + 2 ** 32, "x")()); // the high word of the seed counts too
});

test("rank order: most invoked first, ties broken by id", (t) => {
  const ranked = byRank([
    { id: "b", app: "", dailyCount: 5 },
    { id: "a", app: "", dailyCount: 5 },
    { id: "c", app: "", dailyCount: 9 },
  ]);
  t.deepEqual(ranked.map((f) => f.id), ["c", "a", "b"]);
});

test("strata are contiguous, cover everything, and differ in size by at most one", (t) => {
  const bounds = strataBounds(103, 10);
  t.is(bounds.length, 10);
  t.is(bounds[0][0], 0);
  t.is(bounds[9][1], 103);
  for (let i = 1; i < bounds.length; i++) t.is(bounds[i][0], bounds[i - 1][1]);
  const sizes = bounds.map(([s, e]) => e - s);
  t.deepEqual([Math.min(...sizes), Math.max(...sizes)], [10, 11]);
});

test("drawWithoutReplacement gives k distinct indices, ascending", (t) => {
  const drawn = drawWithoutReplacement(50, 20, mulberry32(7));
  t.is(drawn.length, 20);
  t.is(new Set(drawn).size, 20);
  t.deepEqual(drawn, [...drawn].sort((a, b) => a - b));
  t.true(drawn.every((i) => i >= 0 && i < 50));
  t.deepEqual(drawWithoutReplacement(5, 5, mulberry32(1)), [0, 1, 2, 3, 4]);
});

test("rank-stratified: N/K functions from each of K rank strata", (t) => {
  const { chosen, description } = sampleFunctions(functions, { kind: "rank-stratified", functions: 20, strata: 5 }, mulberry32(3));
  t.is(chosen.length, 20);
  t.is(new Set(chosen.map((f) => f.id)).size, 20);
  // Strata of 103 by rank: [0,20) [20,41) [41,61) [61,82) [82,103); rank r has count 103 - r.
  const bounds = strataBounds(103, 5);
  for (const [start, end] of bounds) {
    const inStratum = chosen.filter((f) => 103 - f.dailyCount >= start && 103 - f.dailyCount < end);
    t.is(inStratum.length, 4, `stratum [${start}, ${end})`);
  }
  // Returned in rank order.
  t.deepEqual(chosen, byRank(chosen));
  t.regex(description, /20 of 103 functions, 4 drawn from each of 5 strata of 20–21 functions/);
});

test("rank-stratified refuses impossible or uneven requests", (t) => {
  const random = mulberry32(1);
  t.throws(() => sampleFunctions(functions, { kind: "rank-stratified", functions: 110, strata: 5 }, random), {
    message: /cannot draw 22 functions from each of 5 strata: the source has 103 functions, so the smallest stratum holds 20/,
  });
  t.throws(() => sampleFunctions(functions.slice(0, 3), { kind: "rank-stratified", functions: 4, strata: 4 }, random), {
    message: /the source has 3 functions/,
  });
});

test("apps: whole apps drawn, all their functions kept", (t) => {
  const { chosen, description } = sampleFunctions(functions, { kind: "apps", apps: 3 }, mulberry32(9));
  const apps = new Set(chosen.map((f) => f.app));
  t.is(apps.size, 3);
  for (const app of apps) t.is(chosen.filter((f) => f.app === app).length, functions.filter((f) => f.app === app).length);
  t.regex(description, /apps: 3 of 26 apps drawn uniformly/);
  t.throws(() => sampleFunctions(functions, { kind: "apps", apps: 27 }, mulberry32(9)), { message: /cannot draw 27 apps: the source has 26/ });
  t.throws(() => sampleFunctions([{ id: "x", app: "", dailyCount: 1 }], { kind: "apps", apps: 1 }, mulberry32(9)), {
    message: /needs app ids/,
  });
});

test("sampling is a function of the seed", (t) => {
  const draw = (seed: number) =>
    sampleFunctions(functions, { kind: "rank-stratified", functions: 10, strata: 2 }, streamFor(seed, "sample")).chosen.map((f) => f.id);
  t.deepEqual(draw(5), draw(5));
  t.notDeepEqual(draw(5), draw(6));
});
