import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BENCH_DIR,
  MIN_PER_WORK_MS,
  SUITE,
  calibrate,
  durationRange,
  fitDurationModel,
  mapTraceFunctions,
  measuredCurve,
  median,
  predictMs,
  readBenchPackage,
  workAt,
  workFor,
  type BenchFunction,
  type DurationModel,
} from "../../loadgen/suite/index.js";

const fakeFn = (name: string, memoryMb: number, min: number, max: number): BenchFunction => ({
  name,
  dir: `/nowhere/${name}`,
  memoryMb,
  timeoutMs: 60_000,
  kind: "cpu",
  work: { min, max },
  payload: (work, seed = 1) => ({ work, seed }),
});
const model = (fn: string, fixedMs: number, perWorkMs: number): DurationModel => ({ fn, fixedMs, perWorkMs, samples: [] });

test("the suite: 12+ functions with unique names, real directories, exact pins and memory from package.json", (t) => {
  t.true(SUITE.length >= 12);
  t.is(new Set(SUITE.map((f) => f.name)).size, SUITE.length);
  for (const fn of SUITE) {
    t.is(path.dirname(fn.dir), BENCH_DIR);
    t.is(fn.name, `bench-${path.basename(fn.dir)}`);
    t.true(fs.existsSync(path.join(fn.dir, "index.js")), fn.name);
    const pkg = readBenchPackage(fn.dir);
    t.is(pkg.faas?.name, fn.name);
    t.is(pkg.faas?.memoryMb, fn.memoryMb);
    t.is(pkg.faas?.timeoutMs, fn.timeoutMs);
    t.true(fn.memoryMb >= 128 && fn.memoryMb <= 512, fn.name);
    for (const [dep, version] of Object.entries(pkg.dependencies ?? {})) t.regex(version, /^\d+\.\d+\.\d+$/, `${fn.name}: ${dep}`);
    t.true(fn.work.min > 0 && fn.work.min < fn.work.max, fn.name);
    const payload = fn.payload(fn.work.max, 42);
    t.deepEqual(payload, { work: fn.work.max, seed: 42 });
    t.true(JSON.stringify(payload).length < 64);
    // The function itself refuses more work than the suite's range allows (its memory limit).
    const cap = /args\(params, (\d+(?:\.\d+)?)\)/.exec(fs.readFileSync(path.join(fn.dir, "index.js"), "utf8"));
    t.is(Number(cap?.[1]), fn.work.max, `${fn.name}: the cap in index.js`);
  }
  // Package sets overlap the way real functions' do: some share most, some a few, some none.
  const deps = new Map(SUITE.map((f) => [f.name, Object.keys(readBenchPackage(f.dir).dependencies ?? {})]));
  t.true(deps.get("bench-image-thumbnail")!.includes("jimp") && deps.get("bench-image-resize")!.includes("jimp"));
  t.true(SUITE.filter((f) => deps.get(f.name)!.includes("lodash")).length >= 3);
  t.true(SUITE.filter((f) => deps.get(f.name)!.length === 0).length >= 2);
});

test("the fit recovers an exact line and ignores unusable samples", (t) => {
  const samples = [0.5, 1, 2, 4, 8].map((work) => ({ work, execMs: 12 + 30 * work }));
  const m = fitDurationModel("f", [...samples, { work: 0, execMs: 5 }, { work: 3, execMs: Number.NaN }]);
  t.is(m.fn, "f");
  t.true(Math.abs(m.fixedMs - 12) < 1e-9);
  t.true(Math.abs(m.perWorkMs - 30) < 1e-9);
  t.is(m.samples.length, 5);
});

test("the fit weighs relative errors: small durations stay accurate beside large ones", (t) => {
  // ±5% noise at every point: predictions stay within ~10% at both ends of a 1000x range (20 ms to 2 s).
  const truth = (w: number) => 20 + 2 * w;
  const works = [0.1, 0.1, 1, 1, 10, 10, 100, 100, 1000, 1000];
  const samples = works.map((work, i) => ({ work, execMs: truth(work) * (i % 2 ? 1.05 : 0.95) }));
  const m = fitDurationModel("f", samples);
  for (const w of [0.1, 1000]) t.true(Math.abs(predictMs(m, w) / truth(w) - 1) < 0.1, `work ${w}: ${predictMs(m, w)}`);
});

test("the fit guards against slopes ≤ 0, negative intercepts and a single work size", (t) => {
  const flat = fitDurationModel("flat", [{ work: 1, execMs: 50 }, { work: 2, execMs: 48 }, { work: 4, execMs: 45 }]);
  t.is(flat.perWorkMs, MIN_PER_WORK_MS);
  t.true(flat.fixedMs > 45 && flat.fixedMs < 50);
  const superlinear = fitDurationModel("sup", [{ work: 1, execMs: 1 }, { work: 2, execMs: 8 }, { work: 3, execMs: 27 }]);
  t.is(superlinear.fixedMs, 0);
  t.true(superlinear.perWorkMs > 0);
  const single = fitDurationModel("one", [{ work: 2, execMs: 10 }, { work: 2, execMs: 12 }]);
  t.true(single.perWorkMs > 0 && single.fixedMs > 10 && single.fixedMs < 12);
  t.throws(() => fitDurationModel("none", []), { instanceOf: RangeError });
});

test("workFor inverts the model and clamps to the function's range", (t) => {
  const fn = fakeFn("f", 256, 0.5, 20);
  const m = model("f", 10, 50);
  t.is(workFor(m, fn, 510), 10);
  t.is(predictMs(m, workFor(m, fn, 260)), 260);
  t.is(workFor(m, fn, 5), 0.5); // below the fixed part
  t.is(workFor(m, fn, 1e9), 20);
  t.is(workFor(model("c", 40, MIN_PER_WORK_MS), fn, 1000), 20);
  t.deepEqual(durationRange(m, fn), { minMs: 35, maxMs: 1010 });
});

test("the measured curve: medians per work size, sorted, made non-decreasing", (t) => {
  const m = model("f", 0, 10);
  const curve = measuredCurve({ ...m, samples: [{ work: 4, execMs: 30 }, { work: 1, execMs: 12 }, { work: 2, execMs: 25 }, { work: 1, execMs: 10 }, { work: 1, execMs: 100 }, { work: 8, execMs: 90 }] });
  // work 1: the median of three; already rising, so nothing is pooled.
  t.deepEqual(curve, [{ work: 1, execMs: 12 }, { work: 2, execMs: 25 }, { work: 4, execMs: 30 }, { work: 8, execMs: 90 }]);
  const folded = measuredCurve({ ...m, samples: [{ work: 1, execMs: 10 }, { work: 2, execMs: 40 }, { work: 4, execMs: 20 }, { work: 8, execMs: 90 }] });
  t.deepEqual(folded.map((s) => s.execMs), [10, 30, 30, 90]); // 40 and 20 pooled
});

test("predictions follow the calibrated curve between its points and the fitted slope beyond; workFor inverts them", (t) => {
  // A worker re-optimising after idle: +min(40·w, 60) ms on top of 10 ms/work. A line cannot follow that.
  const truth = (w: number) => 10 * w + Math.min(40 * w, 60);
  const works = [0.1, 0.5, 1.5, 5, 20];
  const fitted = fitDurationModel("f", works.map((work) => ({ work, execMs: truth(work) })));
  const fn = fakeFn("f", 256, 0.1, 40);
  for (const w of works) t.true(Math.abs(predictMs(fitted, w) - truth(w)) < 1e-9);
  t.is(predictMs(fitted, 1), (truth(0.5) + truth(1.5)) / 2); // linear between the points around it
  t.true(Math.abs(predictMs(fitted, 40) - (truth(20) + fitted.perWorkMs * 20)) < 1e-9);
  for (const target of [10, 50, 100, 200]) t.true(Math.abs(predictMs(fitted, workFor(fitted, fn, target)) - target) < 1e-3, `target ${target}`);
  t.is(workFor(fitted, fn, 1), 0.1); // below the curve's start: clamped to the range
  t.deepEqual(durationRange(fitted, fn), { minMs: truth(0.1), maxMs: predictMs(fitted, 40) });
});

test("workAt spreads points geometrically over the range; median", (t) => {
  const fn = fakeFn("f", 256, 0.01, 100);
  t.is(workAt(fn, 0), 0.01);
  t.is(workAt(fn, 0.5), 1);
  t.is(workAt(fn, 1), 100);
  t.is(workAt(fn, 2), 100);
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
});

// Ranges: short 1-100 ms, mid 10-1000 ms, long 100-10000 ms; big = mid's range at 512 MB.
const suite = [fakeFn("long", 128, 1, 100), fakeFn("mid", 256, 1, 100), fakeFn("short", 256, 1, 100), fakeFn("big", 512, 1, 100)];
const models = new Map([
  ["short", model("short", 0, 1)],
  ["mid", model("mid", 0, 10)],
  ["long", model("long", 0, 100)],
  ["big", model("big", 0, 10)],
]);

test("mapping: the function whose range contains the target, preferring the nearest mid-range", (t) => {
  const m = mapTraceFunctions(
    [
      { id: "a", avgDurationMs: 10 }, // short (mid 10) over mid/big (mid 100)
      { id: "b", avgDurationMs: 150 }, // mid and big have the same range (mid-range 100): the name decides
      { id: "c", avgDurationMs: 2000 }, // long only
      { id: "d", avgDurationMs: 50_000 }, // beyond every range: the nearest end (long's max), clamped
      { id: "e", avgDurationMs: 0.2 }, // below every range: short's min
    ],
    suite,
    models,
  );
  t.deepEqual(m.get("a"), { fn: "short", work: 10, predictedMs: 10 });
  t.deepEqual(m.get("b"), { fn: "big", work: 15, predictedMs: 150 });
  t.deepEqual(m.get("c"), { fn: "long", work: 20, predictedMs: 2000 });
  t.deepEqual(m.get("d"), { fn: "long", work: 100, predictedMs: 10_000 });
  t.deepEqual(m.get("e"), { fn: "short", work: 1, predictedMs: 1 });
  t.deepEqual([...m.keys()], ["a", "b", "c", "d", "e"]);
});

test("mapping: memory, when the trace has it, decides among the functions that contain the target", (t) => {
  const m = mapTraceFunctions(
    [
      { id: "small", avgDurationMs: 150, memoryMb: 200 }, // mid (256) over big (512)
      { id: "large", avgDurationMs: 150, memoryMb: 600 }, // big
      { id: "tiny", avgDurationMs: 150, memoryMb: 100 }, // long (128) contains 150 too and is nearest in memory
      { id: "only", avgDurationMs: 5, memoryMb: 512 }, // only short contains 5 ms: memory does not override duration
    ],
    suite,
    models,
  );
  t.is(m.get("small")!.fn, "mid");
  t.is(m.get("large")!.fn, "big");
  t.is(m.get("tiny")!.fn, "long");
  t.is(m.get("tiny")!.work, 1.5);
  t.is(m.get("only")!.fn, "short");
});

test("mapping is deterministic: same answer for any suite order, skips functions without a model, refuses bad input", (t) => {
  const trace = Array.from({ length: 200 }, (_, i) => ({ id: `f${i}`, avgDurationMs: 0.5 * 1.05 ** i, memoryMb: i % 3 ? 128 * (1 + (i % 4)) : undefined }));
  const a = mapTraceFunctions(trace, suite, models);
  const b = mapTraceFunctions(trace, [...suite].reverse(), new Map([...models].reverse()));
  t.deepEqual([...a], [...b]);
  const onlyLong = mapTraceFunctions([{ id: "x", avgDurationMs: 10 }], suite, new Map([["long", models.get("long")!]]));
  t.is(onlyLong.get("x")!.fn, "long");
  t.throws(() => mapTraceFunctions([{ id: "x", avgDurationMs: 10 }], suite, new Map()), { instanceOf: RangeError });
  t.throws(() => mapTraceFunctions([{ id: "x", avgDurationMs: 0 }], suite, models), { instanceOf: RangeError });
});

test("calibrate (back to back) discards the cold invocation and warm-ups, fits medians of server-side exec times", async (t) => {
  const fn = fakeFn("f", 256, 1, 100);
  const calls: Array<{ fn: string; work: number }> = [];
  let n = 0;
  const invoke = async (name: string, payload: Uint8Array) => {
    const { work } = JSON.parse(new TextDecoder().decode(payload)) as { work: number };
    calls.push({ fn: name, work });
    n++;
    // cold call: huge; every fourth call: an outlier (at most one per point) the median must drop.
    const ms = n === 1 ? 5000 : (5 + 2 * work) * (n % 4 === 0 ? 3 : 1);
    return { execUs: BigInt(Math.round(ms * 1000)), ok: true };
  };
  const models = await calibrate(invoke, [fn], { points: [0, 0.5, 1], repeats: 3, warmups: 1, idleMs: 0 });
  t.is(calls.length, 2 + 3 * 3);
  t.deepEqual(calls.map((c) => c.work), [1, 1, 1, 10, 100, 1, 10, 100, 1, 10, 100]); // cold, warm-up, then rounds
  const m = models.get("f")!;
  t.deepEqual(m.samples.map((s) => s.work), [1, 10, 100]);
  t.true(Math.abs(m.fixedMs - 5) < 1e-6 && Math.abs(m.perWorkMs - 2) < 1e-6, JSON.stringify(m));
  await t.throwsAsync(calibrate(async () => ({ execUs: 0n, ok: false }), [fn], { points: [0], repeats: 1, idleMs: 0 }), { message: "calibrating f: the invocation at work 1 failed" });
});

test("calibrate with idleMs spaces each function's invocations and interleaves the functions", async (t) => {
  let now = 0;
  const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
  const log: Array<{ fn: string; at: number }> = [];
  const invoke = async (fn: string, payload: Uint8Array) => {
    const { work } = JSON.parse(new TextDecoder().decode(payload)) as { work: number };
    log.push({ fn, at: now });
    now += 100 * work; // the invocation takes its time on the fake clock
    return { execUs: BigInt(Math.round(100 * work * 1000)), ok: true };
  };
  const a = fakeFn("a", 256, 1, 4), b = fakeFn("b", 256, 1, 4);
  const models = await calibrate(invoke, [a, b], { points: [0, 1], repeats: 2, warmups: 0, idleMs: 1000, clock });
  t.is(log.length, 2 * (1 + 2 * 2));
  t.deepEqual(log.slice(0, 4).map((c) => c.fn), ["a", "b", "a", "b"]);
  for (const fn of ["a", "b"]) {
    const at = log.filter((c) => c.fn === fn);
    for (let i = 1; i < at.length; i++) t.true(at[i]!.at - at[i - 1]!.at >= 1000, `${fn}: ${at[i - 1]!.at} -> ${at[i]!.at}`);
  }
  t.true(now < 6 * 1000 + 2000, `the gaps overlap: ${now}`);
  t.true(Math.abs(models.get("a")!.perWorkMs - 100) < 1e-6 && Math.abs(models.get("b")!.perWorkMs - 100) < 1e-6);
});
