// The packing planner (ProPack's model) on synthetic S(n) and E(d) curves whose optima are known, and the
// measured-curve arithmetic it stands on.
import test from "ava";
import { MeasuredCurve } from "../../services/balancer/packing/curve.js";
import { completionTimes, LAMBDA_X86_USD_PER_GB_SECOND, pieceSizes, planPacking, type PackingProblem } from "../../services/balancer/packing/planner.js";

const curve = (f: (x: number) => number, xs: readonly number[]) => new MeasuredCurve(xs.map((x) => ({ x, y: f(x) })));
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test("a measured curve interpolates between points, extends the last slope, and never drops after its last point", (t) => {
  const c = new MeasuredCurve([
    { x: 4, y: 8 },
    { x: 1, y: 2 },
  ]);
  t.is(c.at(1), 2);
  t.is(c.at(2), 4);
  t.is(c.at(4), 8);
  t.is(c.at(6), 12, "beyond the last point the last segment's slope continues");
  t.is(c.at(0.5), 2, "before the first point the first value holds");
  const falling = new MeasuredCurve([
    { x: 1, y: 5 },
    { x: 2, y: 3 },
  ]);
  t.is(falling.at(10), 3, "a measured dip is not extrapolated below the last measurement");
  t.is(new MeasuredCurve([{ x: 3, y: 7 }]).at(100), 7);
});

test("a measured curve refuses points it cannot use, and refines with live observations", (t) => {
  t.throws(() => new MeasuredCurve([]), { instanceOf: RangeError });
  t.throws(() => new MeasuredCurve([{ x: 0, y: 1 }]), { instanceOf: RangeError });
  t.throws(() => new MeasuredCurve([{ x: 1, y: Number.NaN }]), { instanceOf: RangeError });
  t.throws(
    () =>
      new MeasuredCurve([
        { x: 2, y: 1 },
        { x: 2, y: 3 },
      ]),
    { message: /two measurements at x = 2/ },
  );
  const c = curve((x) => x, [1, 10]);
  t.is(c.refined(10, 20, 0.5).at(10), 15, "half the profile, half the observation");
  t.is(c.refined(5, 9, 1).at(5), 9, "alpha 1 replaces");
  t.is(c.refined(5, 9, 0.25).at(5), 6, "a new x starts from the interpolated value (5)");
  t.throws(() => c.refined(5, 9, 0), { instanceOf: RangeError });
});

// m = 64; bringing up n instances takes n seconds; the function is I/O-bound, so packing d costs only
// 0.05 s more per extra invocation: E(d) = 1 + 0.05 (d - 1).
const ioBound: PackingProblem = {
  invocations: 64,
  scaling: curve((n) => n, [1, 64]),
  service: curve((d) => 1 + 0.05 * (d - 1), [1, 64]),
  memoryMb: 1024,
  maxDegree: 64,
};

test("time: the makespan is minimised at the known optimum, where both instances finish together (d = 42)", (t) => {
  // With K = 2 instances (32 ≤ d < 64) the first is up at 1 s with d invocations and the second at 2 s
  // with 64 - d: max(1 + E(d), 2 + E(64 - d)) is least where they are equal, d = 42: 4.05 s. ProPack's
  // E(d) + S(K) would say d = 32 (4.55 s), as if the second instance held d too.
  const plan = planPacking(ioBound, { objective: "time", metric: "total" });
  t.is(plan.degree, 42);
  const p42 = plan.predictions[41];
  t.is(p42.instances, 2);
  t.true(Math.abs(p42.totalS - 4.05) < 1e-9);
  t.true(Math.abs(plan.predictions[31].totalS - 4.55) < 1e-9, "d = 32: E(32) + S(2)");
  t.true(Math.abs(plan.predictions[0].totalS - 65) < 1e-9, "d = 1: 64 instances, the last up after 64 s, plus 1 s");
  t.is(plan.predictions.length, 64);
});

test("cost: C(d) = E(d) · ceil(m/d) · memory · price is minimised by packing all 64 into one instance", (t) => {
  const plan = planPacking(ioBound, { objective: "cost" });
  t.is(plan.degree, 64);
  const p64 = plan.predictions[63];
  t.true(Math.abs(p64.costUsd - 4.15 * 1 * 1 * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
  const p1 = plan.predictions[0];
  t.true(Math.abs(p1.costUsd - 1 * 64 * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
});

test("both: the normalised weighted sum picks the degree an exhaustive evaluation of the same formula picks", (t) => {
  for (const [costWeight, timeWeight] of [
    [0.55, 0.45],
    [0.9, 0.1],
    [0.1, 0.9],
  ]) {
    const plan = planPacking(ioBound, { objective: "both", costWeight, timeWeight });
    // The oracle: the formula written out here, independently of the planner.
    const e = (d: number) => 1 + 0.05 * (d - 1);
    const rows = range(64).map((d) => {
      const k = Math.ceil(64 / d);
      let time = 0;
      for (let i = 1; i <= k; i++) time = Math.max(time, i + e(Math.min(d, 64 - (i - 1) * d)));
      return { d, time, cost: e(d) * k };
    });
    const [tMin, tMax] = [Math.min(...rows.map((r) => r.time)), Math.max(...rows.map((r) => r.time))];
    const [cMin, cMax] = [Math.min(...rows.map((r) => r.cost)), Math.max(...rows.map((r) => r.cost))];
    const scored = rows.map((r) => ({ d: r.d, s: (costWeight * (r.cost - cMin)) / (cMax - cMin) + (timeWeight * (r.time - tMin)) / (tMax - tMin) }));
    const best = scored.reduce((a, b) => (b.s < a.s ? b : a));
    t.is(plan.degree, best.d, `weights ${costWeight}/${timeWeight}`);
  }
  t.is(planPacking(ioBound, { objective: "both", costWeight: 1, timeWeight: 0 }).degree, 64, "all weight on cost: the cost optimum");
  t.is(planPacking(ioBound, { objective: "both", costWeight: 0, timeWeight: 1 }).degree, 42, "all weight on time: the time optimum");
});

test("a CPU-bound function (E grows linearly past the cores) is packed only up to where waiting beats scaling", (t) => {
  // 2 cores: up to 2 invocations take 1 s, then each extra one adds 0.5 s. Scaling is cheap: 0.1 s each.
  const cpu: PackingProblem = {
    invocations: 100,
    scaling: curve((n) => 0.1 * n, [1, 100]),
    service: new MeasuredCurve([
      { x: 1, y: 1 },
      { x: 2, y: 1 },
      { x: 100, y: 50 },
    ]),
    memoryMb: 512,
    maxDegree: 100,
  };
  // T(d) = E(d) + 0.1 ceil(100/d): d = 1 → 11, d = 2 → 6, d = 3 → 1.5 + 3.4 = 4.9, d = 4 → 2 + 2.5 = 4.5,
  // d = 5 → 2.5 + 2 = 4.5, d = 6 → 3 + 1.7 = 4.7: the tie at 4 and 5 goes to the cheaper (C ∝ E·K: 50
  // against 50), then the faster (4.5 against 4.5), then the lower degree.
  const plan = planPacking(cpu, { objective: "time" });
  t.is(plan.degree, 4);
  t.is(plan.predictions[3].totalS, 4.5);
  t.is(plan.predictions[4].totalS, 4.5);
  t.is(planPacking({ ...cpu, maxDegree: 3 }, { objective: "time" }).degree, 3, "the container's limit bounds the degree");
});

test("median and tail are percentiles of the sorted completions, not of instance order", (t) => {
  // m = 5, d = 3: instance 1 is up at 0.1 s and serves 3 (3 s): done at 3.1; instance 2 is up at 0.2 s
  // and serves the other 2 (2 s): done at 2.2, earlier. Sorted: 2.2, 2.2, 3.1, 3.1, 3.1.
  const p: PackingProblem = { invocations: 5, scaling: curve((n) => 0.1 * n, [1, 5]), service: curve((d) => d, [1, 5]), memoryMb: 128, maxDegree: 5 };
  const done = [...completionTimes(p, 3)].map((x) => Number(x.toFixed(9)));
  t.deepEqual(done, [2.2, 2.2, 3.1, 3.1, 3.1]);
  const plan = planPacking(p, { objective: "time", metric: "tail", tailPercentile: 40 });
  const d3 = plan.predictions[2];
  t.true(Math.abs(d3.tailS - 2.2) < 1e-9, "p40 by nearest rank is the 2nd of 5 sorted: 2.2 (the unsorted list would say 3.1)");
  t.true(Math.abs(d3.medianS - 3.1) < 1e-9);
  t.true(Math.abs(d3.totalS - 3.1) < 1e-9);
});

test("the median metric can choose another degree than the makespan", (t) => {
  // m = 4, S(n) = n, E(d) = d. d = 1: done at 2, 3, 4, 5; d = 2: 3, 3, 4, 4; d = 4: 5 ×4.
  const p: PackingProblem = { invocations: 4, scaling: curve((n) => n, [1, 4]), service: curve((d) => d, [1, 4]), memoryMb: 128, maxDegree: 4 };
  t.is(planPacking(p, { objective: "time", metric: "total" }).degree, 2, "makespan: 4 at d = 2 against 5");
  const byMedian = planPacking(p, { objective: "time", metric: "median" });
  t.deepEqual(
    byMedian.predictions.map((x) => x.medianS),
    [3, 3, 4, 5],
  );
  t.is(byMedian.degree, 1, "median ties at 3 (d = 1, 2), cost ties (4 = 4), the lower degree wins");
});

test("with a cap on instances, pieces beyond it wait for rounds: the best degree fills the cap in one round", (t) => {
  // m = 64, scaling is free (S(n) = 1 s for any n), E(d) = 1 + 0.1 d. Unbounded, one per instance is
  // fastest; with 4 instances, d = 16 runs all 64 in one round (1 + 2.6 s), d = 8 needs two (1 + 2 × 1.8)
  // and d = 1 sixteen.
  const p: PackingProblem = { invocations: 64, scaling: curve(() => 1, [1, 64]), service: curve((d) => 1 + 0.1 * d, [1, 64]), memoryMb: 128, maxDegree: 64 };
  t.is(planPacking(p, { objective: "time" }).degree, 1);
  const capped = planPacking({ ...p, maxInstances: 4 }, { objective: "time" });
  t.is(capped.degree, 16);
  const [d1, d8, d16] = [1, 8, 16].map((d) => capped.predictions[d - 1]);
  t.like(d8, { pieces: 8, instances: 4 });
  t.true(Math.abs(d8.totalS - 4.6) < 1e-9);
  t.true(Math.abs(d16.totalS - 3.6) < 1e-9);
  t.true(Math.abs(d1.totalS - (1 + 16 * 1.1)) < 1e-9, "sixteen rounds of 1.1 s");
  t.true(Math.abs(d1.costUsd - planPacking(p).predictions[0].costUsd) < 1e-15, "the cost is per piece served, cap or not");
  // The rounds are per instance: with 5 pieces of 13 on 4 instances the fifth waits one round on the first.
  const five = completionTimes({ ...p, maxInstances: 4 }, 13);
  t.true(Math.abs(five[five.length - 1] - (1 + 2.3 + 1 + 0.1 * 12)) < 1e-9);
  t.throws(() => planPacking({ ...p, maxInstances: 0 }), { message: /maxInstances/ });
});

test("bad problems and settings are refused with what is wrong", (t) => {
  t.throws(() => planPacking({ ...ioBound, invocations: 0 }), { message: /invocations must be a positive integer/ });
  t.throws(() => planPacking({ ...ioBound, maxDegree: 1.5 }), { message: /maxDegree/ });
  t.throws(() => planPacking({ ...ioBound, memoryMb: 0 }), { message: /memoryMb/ });
  t.throws(() => planPacking(ioBound, { objective: "speed" as never }), { message: /objective must be one of time, cost, both/ });
  t.throws(() => planPacking(ioBound, { metric: "p99" as never }), { message: /metric must be one of/ });
  t.throws(() => planPacking(ioBound, { costWeight: 0, timeWeight: 0 }), { message: /not both 0/ });
  t.throws(() => planPacking(ioBound, { tailPercentile: 0 }), { message: /tailPercentile/ });
  t.is(planPacking({ ...ioBound, invocations: 3 }).predictions.length, 3, "no degree beyond the invocations there are");
});

// A CPU-bound function whose service time is linear in d (E(d) = 0.01 d): alone, every degree costs the
// same per invocation. m = 64 on instances that are up at once (S = 0.1 s).
const linear: PackingProblem = {
  invocations: 64,
  scaling: curve(() => 0.1, [1, 64]),
  service: curve((d) => 0.01 * d, [1, 64]),
  memoryMb: 1024,
  maxDegree: 64,
};

test("the piece overhead: with E(d) linear every degree costs the same alone, and h makes the fewest pieces the cheapest", (t) => {
  const without = planPacking(linear, { objective: "cost" });
  const costs = without.predictions.filter((p) => 64 % p.degree === 0).map((p) => p.costUsd);
  t.true(costs.every((c) => Math.abs(c - costs[0]) < 1e-15), "without h, every divisor of 64 costs the same");
  t.is(without.degree, 1, "a tie goes to the lower degree");

  const h = 0.005;
  const withH = planPacking({ ...linear, pieceOverheadS: h }, { objective: "cost" });
  t.is(withH.degree, 64, "one piece pays h once");
  const at = (d: number) => withH.predictions.find((p) => p.degree === d)!;
  // C(d) = (E(d) + h) · ceil(64/d) · 1 GB · price
  t.is(at(2).pieceS, 0.02 + h);
  t.true(Math.abs(at(2).costUsd - (0.02 + h) * 32 * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
  t.true(Math.abs(at(64).costUsd - (0.64 + h) * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
  // Time: unlimited instances, all up at 0.1 s: T(d) = 0.1 + E(d) + h, least at d = 1, h or not.
  t.is(planPacking({ ...linear, pieceOverheadS: h }, { objective: "time" }).degree, 1);
});

test("the piece overhead counts in every round when the instances are capped", (t) => {
  // 4 instances for 64 pieces of 1: 16 rounds of (E(1) + h) after S = 0.1 s.
  const done = completionTimes({ ...linear, maxInstances: 4, pieceOverheadS: 0.005 }, 1);
  t.true(Math.abs(done[done.length - 1] - (0.1 + 16 * 0.015)) < 1e-12);
  // Time now prefers filling the 4 instances in one round: 4 pieces of 16 end at 0.1 + 0.16 + h = 0.265 s,
  // 2 rounds of 8 at 0.1 + 2 (0.08 + h) = 0.27 s, 16 rounds of 1 at 0.34 s.
  t.is(planPacking({ ...linear, maxInstances: 4, pieceOverheadS: 0.005 }, { objective: "time" }).degree, 16);
  t.throws(() => planPacking({ ...linear, pieceOverheadS: -1 }), { message: /pieceOverheadS must be a finite time/ });
});

test("the CPU model: every instance's start-up runs on the shared cores, and the planner asks for fewer instances", (t) => {
  const capped: PackingProblem = { ...linear, maxInstances: 4 };
  // Latency alone: 4 pieces of 16 on the 4 instances, all up at 0.1 s, end at 0.26 s.
  const latencyOnly = planPacking(capped, { objective: "time" });
  t.true(Math.abs(latencyOnly.predictions[15].totalS - 0.26) < 1e-12);
  t.is(latencyOnly.predictions[15].instances, 4);
  t.is(latencyOnly.predictions[15].stretch, 1);
  t.is(latencyOnly.predictions[15].cpuS, 0);
  // 2 cores; an instance's start-up takes 0.1 CPU-s, a piece 1 ms, an invocation its 10 ms of work.
  const cpu = { cores: 2, instanceS: 0.1, pieceS: 0.001, invocationS: 0.01 };
  const shared: PackingProblem = { ...capped, cpu };
  // Pieces of 16 on 4 instances: 0.4 + 0.004 + 0.64 CPU-s cannot run on 2 cores in 0.26 s but in 0.522 s,
  // so every execution stretches by 0.522 / 0.26.
  const four = completionTimes(shared, 16, 4);
  t.true(Math.abs(four[four.length - 1] - 0.522) < 1e-12);
  // On 2 instances: 2 rounds of 0.16 s after 0.1 s = 0.42 s, and the CPU floor (0.2 + 0.004 + 0.64) / 2 = 0.422 s.
  const at16 = planPacking(shared, { objective: "time" }).predictions[15];
  t.is(at16.instances, 2);
  t.true(Math.abs(at16.totalS - 0.422) < 1e-12);
  t.true(Math.abs(at16.cpuS - 0.844) < 1e-12);
  t.true(Math.abs(at16.stretch - 0.422 / 0.42) < 1e-12);
  // The fastest: 2 pieces of 32 on 2 instances (floor 0.421 s, one piece fewer than 16's to pay for);
  // 1 instance never is (0.74 s of latency), nor are pieces of 1 (64 pieces: floor 0.452 s).
  const plan = planPacking(shared, { objective: "time" });
  t.is(plan.degree, 32);
  t.is(plan.predictions[31].instances, 2);
  t.true(Math.abs(plan.predictions[31].totalS - 0.421) < 1e-12);
  t.true(Math.abs(plan.predictions[0].totalS - 0.452) < 1e-12);
  // Billed time stretches with the executions: each piece of 16 is billed 0.16 s × 0.422 / 0.42.
  t.true(Math.abs(at16.costUsd - 0.16 * (0.422 / 0.42) * 4 * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
  t.throws(() => planPacking({ ...capped, cpu: { ...cpu, cores: 0 } }), { message: /cpu.cores must be positive/ });
  t.throws(() => planPacking({ ...capped, cpu: { ...cpu, instanceS: -1 } }), { message: /cpu.instanceS/ });
});

test("R(d), a piece's time in a burst, paces the rounds when measured, the last piece's own size included", (t) => {
  const round = curve((d) => 0.01 * d + 0.02, [1, 64]);
  const last = (xs: Float64Array) => xs[xs.length - 1];
  const measured: PackingProblem = { ...linear, maxInstances: 4, round };
  // One round of 4 pieces of 16: up at 0.1 s, then R(16) = 0.18 s.
  t.true(Math.abs(last(completionTimes(measured, 16, 4)) - 0.28) < 1e-12);
  // Two rounds on 2 instances: 0.1 + 2 R(16).
  t.true(Math.abs(last(completionTimes(measured, 16, 2)) - 0.46) < 1e-12);
  // Pieces of 48 and 16 on 2 instances: the longer one, 0.1 + R(48).
  t.true(Math.abs(last(completionTimes(measured, 48, 2)) - 0.6) < 1e-12);
  // Without R(d): E(d) + h alone, 0.1 + 0.16 + 0.005 for one round of 16.
  t.true(Math.abs(last(completionTimes({ ...linear, maxInstances: 4, pieceOverheadS: 0.005 }, 16, 4)) - 0.265) < 1e-12);
  // Billing stays E(d) + h: R(d) holds the dispatch, which no instance is billed for.
  const plan = planPacking({ ...measured, pieceOverheadS: 0.005 }, { objective: "cost" });
  t.is(plan.predictions[15].pieceS, 0.16 + 0.005);
});

test("the dispatch's batch bound cuts the invocations first: a degree that does not divide it leaves a small piece per batch", (t) => {
  const burst: PackingProblem = { ...linear, invocations: 500, maxDegree: 64 };
  t.is(pieceSizes(burst, 63).length, 8, "one batch: 7 of 63 and one of 59");
  const batched: PackingProblem = { ...burst, batchSize: 64 };
  const at63 = pieceSizes(batched, 63);
  t.is(at63.length, 15, "7 batches of 64 as 63 + 1, and 52");
  t.deepEqual(at63.slice(0, 2), [63, 1]);
  t.is(at63[14], 52);
  t.deepEqual(pieceSizes(batched, 64), [64, 64, 64, 64, 64, 64, 64, 52]);
  t.is(pieceSizes(batched, 32).length, 16);
  // On 4 instances (S = 0.1 s, E(d) = 0.01 d): at 63 the small pieces take rounds of their own.
  const done = completionTimes({ ...batched, maxInstances: 4 }, 63, 4);
  // Instance 1 takes pieces 0, 4, 8, 12: 63, 63, 63, 63 → 0.1 + 4 · 0.63.
  t.true(Math.abs(done[done.length - 1] - (0.1 + 4 * 0.63)) < 1e-9);
  t.throws(() => planPacking({ ...burst, batchSize: 0 }), { message: /batchSize must be a positive integer/ });
});

test("B(d), a piece's billed time in a burst, prices the pieces when measured", (t) => {
  // Alone every degree of the linear function costs the same; in the burst a piece of d is billed
  // 0.002 d + 0.0005 d² s (a piece's members stretch each other): the lowest degree is the cheapest.
  const billed = curve((d) => 0.002 * d + 0.0005 * d * d, range(64));
  const plan = planPacking({ ...linear, billed }, { objective: "cost" });
  t.is(plan.degree, 1);
  t.is(plan.predictions[15].pieceS, 0.002 * 16 + 0.0005 * 256);
  t.true(Math.abs(plan.predictions[15].costUsd - (0.032 + 0.128) * 4 * LAMBDA_X86_USD_PER_GB_SECOND) < 1e-15);
  t.is(plan.predictions[15].serviceS, 0.16, "E(d) is still what the piece takes alone");
});
