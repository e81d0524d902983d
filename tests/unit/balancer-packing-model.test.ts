// The planner's inputs kept current: a profile, refined by live observations.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { LIVE_ALPHA, PackingModel } from "../../services/balancer/packing/packing-model.js";

test("without S(n) or without the function's E(d) there is no plan, and it says which is missing", (t) => {
  const m = new PackingModel();
  t.regex((m.plan("f", 10, 128, 8) as { missing: string }).missing, /no S\(n\)/);
  m.observeScaling(2, 0.5);
  t.regex((m.plan("f", 10, 128, 8) as { missing: string }).missing, /no E\(d\) measured yet for f/);
  m.observeService("f", 4, 0.2);
  const plan = m.plan("f", 10, 128, 8);
  t.false("missing" in plan);
});

test("live observations refine the profile's points by LIVE_ALPHA; other functions' curves are their own", (t) => {
  const m = new PackingModel({ scaling: [{ x: 1, y: 0.3 }, { x: 8, y: 1.0 }], service: { f: [{ x: 1, y: 0.1 }, { x: 8, y: 0.8 }] } });
  m.observeService("f", 8, 1.8);
  t.true(Math.abs(m.service("f")!.at(8) - ((1 - LIVE_ALPHA) * 0.8 + LIVE_ALPHA * 1.8)) < 1e-12);
  t.is(m.service("g"), undefined);
  m.observeService("g", 2, 0.4);
  t.is(m.service("g")!.at(2), 0.4, "a first observation is the curve");
  t.is(m.service("f")!.at(1), 0.1);
  m.observeScaling(4, 2.0);
  t.true(Math.abs(m.scaling!.at(4) - ((1 - LIVE_ALPHA) * 0.6 + LIVE_ALPHA * 2.0)) < 1e-12, "from the interpolated 0.6");
  m.observeService("f", 0, 1);
  m.observeScaling(3, -1);
  t.is(m.service("f")!.points.length, 2, "nonsense observations are ignored");
});

test("the cap on instances: met when a batch's pieces got fewer containers, moved by every binding batch, raised by a wider one", (t) => {
  const m = new PackingModel({ scaling: [{ x: 1, y: 0.3 }], service: { f: [{ x: 1, y: 0.1 }, { x: 8, y: 0.2 }] } });
  t.is(m.maxInstances, undefined);
  m.observeInstances(4, 4);
  t.is(m.maxInstances, undefined, "as many containers as pieces: no cap met");
  m.observeInstances(100, 5);
  t.is(m.maxInstances, 5);
  const plan = m.plan("f", 100, 128, 8);
  t.like("missing" in plan ? undefined : plan.predictions[0], { instances: 5, pieces: 100 });
  m.observeInstances(50, 7);
  t.is(m.maxInstances, 7, "a binding batch that got more moves the cap up");
  m.observeInstances(8, 8);
  t.is(m.maxInstances, 8, "so does an unbound one wider than the cap");
  m.observeInstances(100, 3);
  t.is(m.maxInstances, 3, "and a binding one that got fewer moves it down");
  t.is(new PackingModel({ scaling: [], service: {}, maxInstances: 6 }).maxInstances, 6, "from a profile");
  t.throws(() => new PackingModel({ scaling: [], service: {}, maxInstances: 0 }), { message: /maxInstances/ });
});

test("a profile file is read, and a bad one is refused with its name", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "packing-profile-"));
  const good = path.join(dir, "good.json");
  fs.writeFileSync(good, JSON.stringify({ scaling: [{ x: 1, y: 0.25 }], service: { f: [{ x: 1, y: 0.05 }] } }));
  t.is(PackingModel.fromFile(good).scaling!.at(1), 0.25);
  const bad = path.join(dir, "bad.json");
  fs.writeFileSync(bad, JSON.stringify({ nope: 1 }));
  t.throws(() => PackingModel.fromFile(bad), { message: /bad\.json is not a packing profile/ });
  t.throws(() => PackingModel.fromFile(path.join(dir, "missing.json")), { message: /cannot read the packing profile/ });
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a profile's piece overhead reaches the plan; a negative one is refused", (t) => {
  const profile = { scaling: [{ x: 1, y: 0.1 }], service: { f: [{ x: 1, y: 0.01 }, { x: 64, y: 0.64 }] } };
  const plain = new PackingModel(profile).plan("f", 64, 1024, 64, { objective: "cost" });
  const withH = new PackingModel({ ...profile, pieceOverhead: 0.005 }).plan("f", 64, 1024, 64, { objective: "cost" });
  if ("missing" in plain || "missing" in withH) return t.fail("both have what a plan needs");
  t.is(plain.degree, 1, "ProPack's model: every degree costs the same, the lowest wins the tie");
  t.is(withH.degree, 64, "h paid once instead of 64 times");
  t.is(new PackingModel({ ...profile, pieceOverhead: 0.005 }).pieceOverhead, 0.005);
  t.throws(() => new PackingModel({ ...profile, pieceOverhead: -0.001 }), { message: /pieceOverhead must be a time ≥ 0/ });
});

test("a profile's CPU model and R(d) reach the plan: the instances, the CPU-seconds, the rounds' pace", (t) => {
  const profile = { scaling: [{ x: 1, y: 0.1 }], service: { f: [{ x: 1, y: 0.01 }, { x: 64, y: 0.64 }] }, maxInstances: 4 };
  const cpu = { cores: 2, instanceS: 0.1, pieceS: 0.001, invocationS: 0.01 };
  const model = new PackingModel({ ...profile, cpu, round: { f: [{ x: 1, y: 0.03 }, { x: 64, y: 0.66 }] } });
  t.deepEqual(model.cpu, cpu);
  t.is(model.round("f")?.at(16), 0.03 + (0.63 * 15) / 63);
  t.is(model.round("g"), undefined);
  const plan = model.plan("f", 64, 1024, 64, { objective: "time" });
  if ("missing" in plan) return t.fail("the plan has what it needs");
  const at16 = plan.predictions[15];
  t.true(at16.cpuS > 0, "CPU-seconds predicted");
  t.true(at16.instances >= 1 && at16.instances <= 4);
  const plain = new PackingModel(profile).plan("f", 64, 1024, 64, { objective: "time" });
  if ("missing" in plain) return t.fail("the plan has what it needs");
  t.is(plain.predictions[15].instances, 4, "without a CPU model: one instance per piece within the cap");
  t.is(plain.predictions[15].cpuS, 0);
  t.throws(() => new PackingModel({ ...profile, cpu: { ...cpu, invocationS: Number.NaN } }), { message: /cpu.invocationS/ });
});
