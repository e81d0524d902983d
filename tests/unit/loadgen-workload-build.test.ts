import test from "ava";
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import { readAzure2019Day } from "../../loadgen/trace/azure2019-day.js";
import { readAzure2021Invocations } from "../../loadgen/trace/azure2021-invocations.js";
import { readDailySummary } from "../../loadgen/trace/daily-summary.js";
import { buildWorkload } from "../../loadgen/workload/build-workload.js";
import type { TraceFunction, Workload } from "../../loadgen/workload/model.js";
import { azure2019DaySource, azure2021Source, dailySummarySource, type WorkloadSource } from "../../loadgen/workload/source.js";
import { workloadStats } from "../../loadgen/workload/stats.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = path.join(REPO, "tests/fixtures/traces");
const BUNDLED = "/work/shared/traces/azure2019-d07-functions.csv";

const day01 = async () => azure2019DaySource(await readAzure2019Day(path.join(FIXTURES, "azure2019"), "d01"));
const trace2021 = async () =>
  azure2021Source(await readAzure2021Invocations(path.join(FIXTURES, "azure2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt")));

const timesOf = (w: Workload, id: string) => w.arrivals.filter((a) => a.functionId === id).map((a) => a.atMs);
const countOf = (w: Workload, id: string) => timesOf(w, id).length;

function perMinuteSource(countPerMinute: number, minutes: number): WorkloadSource {
  const perMinute = new Uint32Array(1440);
  perMinute.fill(countPerMinute, 0, minutes);
  const fn: TraceFunction = { id: "busy", app: "app", avgDurationMs: 10, dailyCount: countPerMinute * minutes };
  return { kind: "per-minute", name: "synthetic", functions: [{ function: fn, perMinute }] };
}

test("2019 day, even, whole day: every per-minute count replayed, spread inside its minute", async (t) => {
  const w = buildWorkload(await day01(), { seed: 1, arrivals: "even" });
  t.is(w.arrivals.length, 1440 + 8 + 120 + 10); // func4 has no durations and is not replayed
  t.is(w.durationMs, 86_400_000);
  t.deepEqual(timesOf(w, "func2").slice(0, 3), [10_000, 30_000, 50_000]); // 3 in minute 1
  t.deepEqual(timesOf(w, "func1").slice(0, 2), [30_000, 90_000]); // 1 per minute, mid-minute
  const f1 = w.functions.find((f) => f.id === "func1")!;
  t.deepEqual(f1, { id: "func1", app: "app1", avgDurationMs: 60_000, memoryMb: 128.5, dailyCount: 1440 });
  t.false("memoryMb" in w.functions.find((f) => f.id === "func5")!);
  for (let i = 1; i < w.arrivals.length; i++) t.true(w.arrivals[i - 1].atMs <= w.arrivals[i].atMs);
});

test("window and compression: minutes 60-120 compressed 4x", async (t) => {
  const w = buildWorkload(await day01(), { seed: 1, arrivals: "even", window: { startMinute: 60, endMinute: 120 }, compression: 4 });
  t.is(w.durationMs, 900_000); // 60 min / 4
  // func2's 5 invocations in minute 61 (the window's first minute): mid-slots of 12 s, then / 4.
  t.deepEqual(timesOf(w, "func2"), [1_500, 4_500, 7_500, 10_500, 13_500]);
  t.is(countOf(w, "func1"), 60);
  t.is(timesOf(w, "func1")[0], 7_500); // 30 s / 4
  t.is(countOf(w, "func3"), 0); // active in minutes 601-660 only
  t.is(w.functions.length, 4); // sampled functions stay deployed even when silent in the window
  t.true(w.arrivals.every((a) => a.atMs >= 0 && a.atMs < w.durationMs));
  t.regex(w.description, /window minutes 60–120 of the day; compression 4x: 3600 s of trace replayed in 900 s; arrivals even/);
});

test("poisson per minute: total near the expectation, every arrival inside its minute's slot", (t) => {
  const w = buildWorkload(perMinuteSource(1000, 60), { seed: 11, arrivals: "poisson", window: { startMinute: 0, endMinute: 60 } });
  // Expectation 60,000, sd ≈ 245; 3% is ±7 sd, and the seed is fixed, so this cannot flake.
  t.true(Math.abs(w.arrivals.length - 60_000) < 1_800, `${w.arrivals.length}`);
  const perMinute = new Array(60).fill(0);
  for (const a of w.arrivals) perMinute[Math.floor(a.atMs / 60_000)]++;
  t.true(perMinute.every((n) => n > 850 && n < 1150), perMinute.join(","));
  const even = buildWorkload(perMinuteSource(1000, 60), { seed: 11, arrivals: "even", window: { startMinute: 0, endMinute: 60 } });
  t.is(even.arrivals.length, 60_000);
  t.not(w.arrivals.length, 60_000);
});

test("daily totals: even spreads Count·window/1440 over the window, poisson draws at Count/1440 per minute", async (t) => {
  const source = dailySummarySource(await readDailySummary(path.join(FIXTURES, "daily-summary.csv")), "daily fixture");
  const window = { startMinute: 600, endMinute: 660 };
  const even = buildWorkload(source, { seed: 3, arrivals: "even", window });
  t.deepEqual(timesOf(even, "fb").slice(0, 3), [30_000, 90_000, 150_000]); // 1440/day = 60 in an hour
  t.is(countOf(even, "fb"), 60);
  t.true([4, 5].includes(countOf(even, "fc")), `${countOf(even, "fc")}`); // 100·60/1440 ≈ 4.17
  t.is(countOf(even, "fd"), 0);
  const expectedA = (98_777 * 60) / 1440; // ≈ 4115.7
  t.true(Math.abs(countOf(even, "fa") - expectedA) <= 1);
  const poisson = buildWorkload(source, { seed: 3, arrivals: "poisson", window });
  // sd ≈ 64 for fa: a 5% band is ±3 sd, fixed seed.
  t.true(Math.abs(countOf(poisson, "fa") - expectedA) < expectedA * 0.05, `${countOf(poisson, "fa")}`);
  t.is(poisson.durationMs, 3_600_000);
  t.regex(poisson.description, /poisson: a Poisson process at Count\/1440 per minute/);
});

test("2021: the real start times, shifted to the window and compressed", async (t) => {
  // Starts from the trace start (100 s): appB/f1 0, 80; appA/f1 4, 10, 60; appA/f2 60.
  const w = buildWorkload(await trace2021(), { seed: 1, window: { startSecond: 5, endSecond: 61 }, compression: 5 });
  t.deepEqual(
    w.arrivals.map((a) => [a.functionId, a.atMs]),
    [
      ["appA/f1", 1_000],
      ["appA/f1", 11_000],
      ["appA/f2", 11_000],
    ],
  );
  t.is(w.durationMs, 11_200);
  t.deepEqual(
    w.functions.map((f) => [f.id, f.app, f.dailyCount]),
    [
      ["appA/f1", "appA", 2],
      ["appA/f2", "appA", 1],
    ],
  );
  t.is(w.functions[1].avgDurationMs, 40_000);
  t.regex(w.description, /2 of 3 functions invoked in the window/);
  const whole = buildWorkload(await trace2021(), { seed: 1 });
  t.is(whole.arrivals.length, 6);
  t.is(whole.durationMs, 81_000);
  t.deepEqual(whole.arrivals.map((a) => a.atMs), [0, 4_000, 10_000, 60_000, 60_000, 80_000]);
  const minutes = buildWorkload(await trace2021(), { seed: 1, window: { startMinute: 1, endMinute: 2 } });
  t.deepEqual(minutes.arrivals.map((a) => a.atMs), [0, 0, 20_000]); // starts 60, 60, 80 s

});

test("the same arguments give the same workload; another seed gives other arrivals", async (t) => {
  const source = dailySummarySource(await readDailySummary(BUNDLED), "Azure 2019 d07 summary");
  const options = { sample: { kind: "rank-stratified", functions: 100, strata: 10 }, arrivals: "poisson", window: { startMinute: 0, endMinute: 60 } } as const;
  const a = buildWorkload(source, { seed: 7, ...options });
  const b = buildWorkload(source, { seed: 7, ...options });
  const c = buildWorkload(source, { seed: 8, ...options });
  t.deepEqual(a, b);
  t.notDeepEqual(a.arrivals, c.arrivals);
  t.notDeepEqual(a.functions, c.functions);
  t.is(a.functions.length, 100);
  t.regex(a.description, /seed 7/);
  // Per-minute even arrivals have no randomness beyond the sample.
  const day = await day01();
  t.deepEqual(buildWorkload(day, { seed: 1, arrivals: "even" }).arrivals, buildWorkload(day, { seed: 2, arrivals: "even" }).arrivals);
  t.notDeepEqual(buildWorkload(day, { seed: 1, arrivals: "poisson" }).arrivals, buildWorkload(day, { seed: 2, arrivals: "poisson" }).arrivals);
});

test("a function's arrivals do not depend on which other functions were sampled", async (t) => {
  const source = dailySummarySource(await readDailySummary(path.join(FIXTURES, "daily-summary.csv")), "daily fixture");
  const all = buildWorkload(source, { seed: 5, arrivals: "poisson", window: { startMinute: 0, endMinute: 10 } });
  for (let seed = 0; seed < 20; seed++) {
    const one = buildWorkload(source, { seed: 5, arrivals: "poisson", window: { startMinute: 0, endMinute: 10 }, sample: { kind: "rank-stratified", functions: 2, strata: 2 } });
    for (const f of one.functions) t.deepEqual(timesOf(one, f.id), timesOf(all, f.id));
  }
});

test("maxArrivals refuses, naming the numbers, instead of truncating", async (t) => {
  const source = dailySummarySource(await readDailySummary(BUNDLED), "Azure 2019 d07 summary");
  t.throws(() => buildWorkload(source, { seed: 1, arrivals: "even" }), {
    message: /would have about 25594299 arrivals, more than maxArrivals 1000000/,
  });
  const day = await day01();
  t.throws(() => buildWorkload(day, { seed: 1, arrivals: "even", maxArrivals: 1000 }), {
    message: /would have 1578 arrivals, more than maxArrivals 1000/,
  });
  t.notThrows(() => buildWorkload(day, { seed: 1, arrivals: "even", maxArrivals: 1578 }));
});

test("bad options are refused with what is accepted", async (t) => {
  const day = await day01();
  const recorded = await trace2021();
  const cases: Array<[WorkloadSource, object, RegExp]> = [
    [day, { seed: 1.5, arrivals: "even" }, /seed must be a safe integer, got 1.5/],
    [day, { seed: 1, arrivals: "even", compression: 0.5 }, /compression must be a finite number ≥ 1, got 0.5/],
    [day, { seed: 1, arrivals: "even", maxArrivals: 0 }, /maxArrivals must be a positive integer, got 0/],
    [day, { seed: 1, arrivals: "uniform" }, /arrivals must be "even" or "poisson", got "uniform"/],
    [day, { seed: 1 }, /arrivals must be "even" or "poisson" for "Azure 2019 d01/],
    [recorded, { seed: 1, arrivals: "even" }, /does not apply to "Azure 2021/],
    [day, { seed: 1, arrivals: "even", window: { startMinute: 10, endMinute: 10 } }, /0 ≤ startMinute < endMinute ≤ 1440, got 10–10/],
    [day, { seed: 1, arrivals: "even", window: { startMinute: 0, endMinute: 1441 } }, /got 0–1441/],
    [day, { seed: 1, arrivals: "even", window: { startMinute: 0.5, endMinute: 2 } }, /whole minutes/],
    [day, { seed: 1, arrivals: "even", window: { startSecond: 0, endSecond: 60 } }, /must be given in minutes of the day/],
    [recorded, { seed: 1, window: { startSecond: -1, endSecond: 60 } }, /0 ≤ start < end \(seconds from the trace start\), got -1–60/],
    [day, { seed: 1, arrivals: "even", sample: { kind: "rank-stratified", functions: 3, strata: 2 } }, /multiple of sample.strata/],
    [day, { seed: 1, arrivals: "even", sample: { kind: "apps", apps: 0 } }, /sample.apps must be a positive integer, got 0/],
    [day, { seed: 1, arrivals: "even", sample: { kind: "some" } }, /sample.kind must be/],
  ];
  for (const [source, options, message] of cases) {
    t.throws(() => buildWorkload(source, options as never), { instanceOf: RangeError, message }, JSON.stringify(options));
  }
});

test("workloadStats: rates, peak second and share by rank", (t) => {
  const w: Workload = {
    functions: [
      { id: "a", app: "", avgDurationMs: 1, dailyCount: 9 },
      { id: "b", app: "", avgDurationMs: 1, dailyCount: 1 },
      { id: "c", app: "", avgDurationMs: 1, dailyCount: 0 },
    ],
    arrivals: [
      ...Array.from({ length: 6 }, (_, i) => ({ functionId: "a", atMs: 1000 + i * 100 })),
      ...Array.from({ length: 3 }, (_, i) => ({ functionId: "a", atMs: 5000 + i * 100 })),
      { functionId: "b", atMs: 9500 },
    ],
    durationMs: 10_000,
    description: "",
  };
  const s = workloadStats(w);
  t.like(s, { functions: 3, activeFunctions: 2, arrivals: 10, meanPerSecond: 1, peakPerSecond: 6, peakSecond: 1 });
  t.deepEqual(s.arrivalsByRank, [9, 1, 0]);
  t.deepEqual(s.shareByRank.map((r) => [r.topFraction, r.functions, r.share]), [
    [0.01, 1, 0.9],
    [0.1, 1, 0.9],
    [0.5, 2, 1],
    [1, 3, 1],
  ]);
});

test("the bundled summary end to end: a Pagurus-style sample replays in bounds", async (t) => {
  const source = dailySummarySource(await readDailySummary(BUNDLED), "Azure 2019 d07 summary");
  const w = buildWorkload(source, {
    seed: 2024,
    sample: { kind: "rank-stratified", functions: 200, strata: 20 },
    window: { startMinute: 0, endMinute: 120 },
    compression: 10,
    arrivals: "even",
  });
  const s = workloadStats(w);
  t.is(s.functions, 200);
  t.is(w.durationMs, 720_000);
  t.true(w.arrivals.every((a) => a.atMs >= 0 && a.atMs < w.durationMs));
  t.true(s.shareByRank[0].share > 0.1, JSON.stringify(s.shareByRank)); // heavily skewed trace
  t.true(s.peakPerSecond >= s.meanPerSecond);
});
