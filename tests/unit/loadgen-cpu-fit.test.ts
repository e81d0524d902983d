// The profiling run's CPU fit (loadgen/cpu-fit.ts) recovers known coefficients from synthetic bursts.
import test from "ava";
import { fitCpu, type CpuSample } from "../../loadgen/cpu-fit.js";

const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test("the CPU fit recovers per-instance, per-piece and per-invocation CPU-seconds", (t) => {
  const truth = { instanceS: 0.9, pieceS: 0.002, invocationS: 0.004 };
  const cpuOf = (s: Omit<CpuSample, "cpuS">) => s.started * truth.instanceS + s.pieces * truth.pieceS + s.invocations * truth.invocationS;
  // Every warm burst also pays 40 ms once, which the fit leaves out.
  const warm = [1, 2, 4, 8, 16, 32, 64].map((d) => ({ started: 0, pieces: 1, invocations: d })).map((s) => ({ ...s, cpuS: 0.04 + cpuOf(s) }));
  const cold = [
    { started: 1, pieces: 1, invocations: 1 },
    { started: 4, pieces: 16, invocations: 16 },
    { started: 6, pieces: 500, invocations: 500 },
  ].map((s) => ({ ...s, cpuS: cpuOf(s) }));
  const fit = fitCpu(warm, cold, 2);
  t.is(fit.cores, 2);
  t.true(near(fit.instanceS, truth.instanceS), String(fit.instanceS));
  t.true(near(fit.pieceS, truth.pieceS), String(fit.pieceS));
  t.true(near(fit.invocationS, truth.invocationS), String(fit.invocationS));
});

test("the CPU fit never returns a negative coefficient and refuses bursts it cannot fit", (t) => {
  const warm = [
    { started: 0, pieces: 1, invocations: 1, cpuS: 0.03 },
    { started: 0, pieces: 1, invocations: 64, cpuS: 0.6 },
  ];
  // Singles that cost less than the warm slope's invocation: the piece costs 0, not less.
  const cold = [
    { started: 1, pieces: 1, invocations: 1, cpuS: 1 },
    { started: 4, pieces: 500, invocations: 500, cpuS: 5 },
  ];
  const fit = fitCpu(warm, cold, 2);
  t.true(near(fit.invocationS, 0.57 / 63));
  // Two cold bursts, two unknowns: a + b = 1 and 4a + 500b = 5, so b = 1/496 and a = 1 - b.
  t.true(near(fit.instanceS, 1 - 1 / 496), String(fit.instanceS));
  t.is(fit.pieceS, 0);
  t.throws(() => fitCpu(warm.slice(0, 1), cold, 2), { message: /two sizes/ });
  t.throws(() => fitCpu(warm, [{ started: 0, pieces: 1, invocations: 1, cpuS: 1 }], 2), { message: /started containers/ });
  t.throws(() => fitCpu(warm, [cold[0], { ...cold[0], cpuS: 2 }], 2), { message: /two ratios/ });
});
