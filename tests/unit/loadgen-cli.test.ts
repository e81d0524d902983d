// The load generator's command line (loadgen/main.ts): flags over the scenario file's settings.
import test from "ava";
import * as path from "node:path";
import { burstOptionsFrom } from "../../loadgen/burst.js";
import { scenarioFrom, USAGE, wantsHelp } from "../../loadgen/main.js";
import { REPO_ROOT } from "../../scripts/local-mesh.js";

test("without arguments it is the bundled demo scenario, each trace function deployed on its own", (t) => {
  const { scenario, outDir } = scenarioFrom([]);
  t.is(scenario.name, "demo");
  t.is(scenario.deploy, "per-trace-function");
  t.is(outDir, undefined);
});

test("flags override the scenario file's settings", (t) => {
  const file = path.join(REPO_ROOT, "loadgen/scenarios/sharing-2h.json");
  const { scenario, outDir } = scenarioFrom([file, "--deploy", "per-benchmark", "--policies", "keepalive,pagurus:KEEP_ALIVE_MS=60000", "--compression", "20", "--window", "600:630", "--all", "--out", "/tmp/x"]);
  t.is(scenario.name, "sharing-2h");
  t.is(scenario.deploy, "per-benchmark");
  t.deepEqual(scenario.policies.map((p) => p.name), ["keepalive", "pagurus KEEP_ALIVE_MS=60000"]);
  t.is(scenario.workload.compression, 20);
  t.deepEqual(scenario.workload.window, { startMinute: 600, endMinute: 630 });
  t.deepEqual(scenario.workload.sample, { kind: "all" });
  t.is(outDir, "/tmp/x");
});

test("unknown flags, missing values, extra arguments and bad choices are errors", (t) => {
  t.throws(() => scenarioFrom(["--nope", "1"]), { message: /nope/ });
  t.throws(() => scenarioFrom(["--seed"]), { message: /seed/ });
  t.throws(() => scenarioFrom(["a.json", "b.json"]), { message: /unexpected argument b\.json/ });
  t.throws(() => scenarioFrom(["--deploy", "shared"]), { message: /--deploy must be/ });
  t.throws(() => scenarioFrom(["--compression", "fast"]), { message: /--compression must be a number/ });
});

test("--help is recognised anywhere on the line and its text names every flag the parser takes", (t) => {
  t.true(wantsHelp(["--help"]));
  t.true(wantsHelp(["scenario.json", "-h"]));
  t.false(wantsHelp(["scenario.json", "--seed", "3"]));
  for (const flag of ["trace", "format", "day", "functions", "strata", "apps", "all", "window", "compression", "arrivals", "seed", "max-arrivals", "policies", "protocol", "deploy", "out"]) {
    t.true(USAGE.includes(`--${flag}`), `--${flag} in the usage text`);
  }
  t.is(scenarioFrom(["--seed=-1"]).scenario.workload.seed, -1, "a negative number with =");
});

test("the burst tool's flags: defaults, values, and every mistake named", (t) => {
  const o = burstOptionsFrom([]);
  t.like(o, { fn: "io-journal", n: 500, work: 0.05, concurrency: 64, workers: 1, repeat: 1 });
  t.deepEqual(o.policies, ["vanilla", "window-only", "kraken", "faasbatch"]);
  const s = burstOptionsFrom(["--function", "hash-chain", "--n", "100", "--sweep", "1,2,64", "--env", "A=1,B=x=y", "--packing-profile", "p.json", "--repeat=3"]);
  t.like(s, { fn: "hash-chain", n: 100, packingProfile: "p.json", repeat: 3 });
  t.deepEqual(s.sweep, [1, 2, 64]);
  t.deepEqual(s.env, { A: "1", B: "x=y" });
  t.throws(() => burstOptionsFrom(["--nope", "1"]), { message: /nope/ });
  t.throws(() => burstOptionsFrom(["--n"]), { message: /--n/ });
  t.throws(() => burstOptionsFrom(["--n", "0"]), { message: /--n must be a positive number/ });
  t.throws(() => burstOptionsFrom(["--sweep", "1,0"]), { message: /--sweep takes packing degrees/ });
  t.throws(() => burstOptionsFrom(["--env", "NOVALUE"]), { message: /--env takes VAR=value/ });
  t.throws(() => burstOptionsFrom(["--function", "no-such-fn"]), { message: /no benchmark function no-such-fn/ });
  t.throws(() => burstOptionsFrom(["stray"]), { message: /unexpected argument stray/ });
});
