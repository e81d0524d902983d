// A short replay of a real trace format through the whole mesh: the report's counts must match what
// trace-store stored, checked by reading its SQLite file directly.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import Database from "better-sqlite3";
import { REPO_ROOT } from "../../scripts/local-mesh.js";
import { runScenario } from "../../loadgen/run-scenario.js";
import { parsePolicy } from "../../loadgen/scenario.js";
import { SUITE } from "../../loadgen/suite/index.js";

test("a replay's report counts match trace-store's records, per policy", async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "faas-loadgen-"));
  try {
    // Two dependency-free benchmark functions keep the deploys fast; calibration is real but short.
    const suite = SUITE.filter((f) => f.name === "bench-hash-chain" || f.name === "bench-matrix-kernel");
    t.is(suite.length, 2);
    const result = await runScenario(
      {
        name: "test",
        trace: { format: "azure2019-daily", path: path.join(REPO_ROOT, "tests/fixtures/traces/loadgen-small.csv") },
        workload: { seed: 5, sample: { kind: "all" }, window: { startMinute: 0, endMinute: 5 }, compression: 30, arrivals: "even" },
        policies: [parsePolicy("keepalive"), parsePolicy("keepalive:KEEP_ALIVE_MS=1000")],
        protocol: "grpc",
        deploy: "per-trace-function",
      },
      { outDir: out, suite, calibration: { points: [0, 0.3], repeats: 1, idleMs: 0 }, refine: { rounds: 1, repeats: 1, tolerance: 0.2 }, calibrationFile: path.join(out, "calibration.json"), log: () => {}, progress: false },
    );
    t.true(result.workload.arrivals.length >= 10, `${result.workload.arrivals.length} arrivals`);
    t.is(result.reports.length, 2);
    t.is(result.accuracy.traceFunctions, 3);
    t.true(result.accuracy.checked >= 1);
    for (const [i, report] of result.reports.entries()) {
      t.is(report.invocations, result.workload.arrivals.length);
      t.is(report.recordsMissing, 0);
      t.is(report.errors, 0, JSON.stringify(report.errorsByStatus));
      t.true(report.coldStarts >= 1);
      t.true(report.containersCreated >= 1);
      t.true(report.memoryMbSeconds > 0);
      const db = new Database(path.join(result.runDirs[i], "trace-store.db"), { readonly: true });
      try {
        const stored = db.prepare("SELECT COUNT(*) AS n, SUM(start_kind = 1) AS cold, COUNT(DISTINCT function) AS functions FROM invocations").get() as { n: number; cold: number; functions: number };
        t.is(stored.functions, 3, "each trace function ran as a function of its own");
        t.is(stored.n, report.invocations, "one record per invocation");
        t.is(stored.cold, report.coldStarts);
        t.is(report.recordsMatched, stored.n);
      } finally {
        db.close();
      }
    }
    const md = fs.readFileSync(result.files.markdown, "utf8");
    t.regex(md, /\| keepalive \|/);
    t.regex(md, /\| keepalive KEEP_ALIVE_MS=1000 \|/);
    t.regex(fs.readFileSync(result.files.html, "utf8"), /<svg /);
  } finally {
    if (!process.env.KEEP_TEST_DIRS) fs.rmSync(out, { recursive: true, force: true });
  }
});
