// How a replay's trace functions become deployed functions (loadgen/deployments.ts) and the scenario field
// that chooses it.
import test from "ava";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planDeployments, traceFunctionName } from "../../loadgen/deployments.js";
import type { Assignment } from "../../loadgen/replay/replayer.js";
import { readScenario } from "../../loadgen/scenario.js";
import { SUITE } from "../../loadgen/suite/index.js";

const [a, b] = SUITE;
const payload = new Uint8Array([1]);
const assignments = new Map<string, Assignment>([
  ["trace-1", { fn: a.name, payload, timeoutMs: 1000 }],
  ["trace-2", { fn: a.name, payload, timeoutMs: 1000 }],
  ["trace-3", { fn: b.name, payload, timeoutMs: 1000 }],
]);

test("per trace function: every trace function is deployed under a name of its own", (t) => {
  const plan = planDeployments(assignments, SUITE, "per-trace-function");
  t.is(plan.deployments.length, 3);
  const names = [...plan.assignments.values()].map((x) => x.fn);
  t.is(new Set(names).size, 3);
  t.is(plan.assignments.get("trace-1")!.fn, traceFunctionName(a.name, "trace-1"));
  t.is(plan.deployments.find((d) => d.name === plan.assignments.get("trace-3")!.fn)!.fn, b);
  for (const name of names) t.regex(name, /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "a valid function name");
  t.is(plan.assignments.get("trace-2")!.payload, payload, "payloads are kept");
});

test("per benchmark: trace functions mapped onto one benchmark share its deployment", (t) => {
  const plan = planDeployments(assignments, SUITE, "per-benchmark");
  t.deepEqual(plan.deployments.map((d) => d.name).sort(), [a.name, b.name].sort());
  t.is(plan.assignments.get("trace-1")!.fn, a.name);
  t.is(plan.assignments.get("trace-2")!.fn, a.name);
});

test("names are stable and differ between trace functions", (t) => {
  t.is(traceFunctionName("bench-x", "abc"), traceFunctionName("bench-x", "abc"));
  t.not(traceFunctionName("bench-x", "abc"), traceFunctionName("bench-x", "abd"));
});

test("an assignment to a function outside the suite is an error", (t) => {
  t.throws(() => planDeployments(new Map([["t", { fn: "nope", payload, timeoutMs: 1 }]]), SUITE, "per-benchmark"), { message: /not in the suite/ });
});

test("scenarios default to per-trace-function and reject unknown modes", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-scenario-"));
  try {
    const write = (extra: object) => {
      const file = path.join(dir, "s.json");
      fs.writeFileSync(file, JSON.stringify({ trace: { format: "azure2019-daily", path: "x.csv" }, workload: { seed: 1 }, ...extra }));
      return file;
    };
    t.is(readScenario(write({})).deploy, "per-trace-function");
    t.is(readScenario(write({ deploy: "per-benchmark" })).deploy, "per-benchmark");
    t.throws(() => readScenario(write({ deploy: "shared" })), { message: /"deploy" must be/ });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
