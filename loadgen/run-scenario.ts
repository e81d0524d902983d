// Runs a scenario end to end: builds the workload, calibrates the benchmark suite (or takes the cached
// models), maps the trace's functions onto it, then for every policy starts a fresh mesh configured with
// it, replays the same arrivals, and reads trace-store's side. Reports are written as Markdown and HTML.
import * as fs from "node:fs";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { functionDigest } from "../common/function-digest.js";
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { TraceStoreService } from "../gen/faas/tracestore/v1/trace_store_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { CalibrationCache } from "./calibration-cache.js";
import { replay, type Assignment } from "./replay/replayer.js";
import { connectTarget, grpcTarget } from "./replay/targets.js";
import { renderHtml, renderMarkdown } from "./report/render.js";
import { buildRunReport, type RunReport } from "./report/run-report.js";
import { collectServerFacts } from "./report/server-facts.js";
import { loadSource, type Scenario } from "./scenario.js";
import { calibrate, mapTraceFunctions, SUITE, type BenchFunction, type CalibrateOptions, type DurationModel } from "./suite/index.js";
import { buildWorkload } from "./workload/build-workload.js";
import type { Workload } from "./workload/model.js";
import { workloadStats } from "./workload/stats.js";

export interface RunOptions {
  /** Where report.md and report.html go. */
  readonly outDir: string;
  readonly calibrationFile?: string;
  readonly log?: (line: string) => void;
  /** Beyond the function's own timeout: queueing and a cold start. */
  readonly allowanceMs?: number;
  /** The benchmark functions trace functions may be mapped onto; default the whole suite. */
  readonly suite?: readonly BenchFunction[];
  /** How models are measured when not cached. */
  readonly calibration?: CalibrateOptions;
  /** The live progress line on stderr; default on. */
  readonly progress?: boolean;
}

export interface ScenarioResult {
  readonly workload: Workload;
  readonly reports: RunReport[];
  /** Each run's mesh directory (its databases and logs), in the order of reports. */
  readonly runDirs: string[];
  readonly markdown: string;
  readonly files: { readonly markdown: string; readonly html: string };
}

type Gateway = ReturnType<typeof createGrpcJsClient<typeof GatewayService>>;

async function deploySuite(gateway: Gateway, suite: readonly BenchFunction[]): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (const fn of suite) {
    const res = await gateway.deployFunction(readFunctionDir(fn.dir, { name: fn.name }), { timeoutMs: 900_000 });
    digests.set(fn.name, res.message.spec!.digest);
  }
  return digests;
}

/** Models for the suite: from the cache when the function's code is unchanged, measured otherwise. */
async function suiteModels(suite: readonly BenchFunction[], o: RunOptions, dir: string): Promise<Map<string, DurationModel>> {
  const log = o.log ?? (() => {});
  const cache = new CalibrationCache(o.calibrationFile ?? path.join(REPO_ROOT, ".faas/calibration.json"));
  const models = new Map<string, DurationModel>();
  const todo: BenchFunction[] = [];
  for (const fn of suite) {
    const req = readFunctionDir(fn.dir, { name: fn.name });
    const cached = cache.get(functionDigest(req.spec!, req.code!));
    if (cached) models.set(fn.name, cached);
    else todo.push(fn);
  }
  if (todo.length === 0) return models;
  log(`calibrating ${todo.length} benchmark functions on this machine (cached afterwards in ${o.calibrationFile ?? ".faas/calibration.json"}) ...`);
  const mesh = await LocalMesh.start({ dir: path.join(dir, "calibration"), env: { all: { LOG_LEVEL: "warn" } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl);
  try {
    const digests = await deploySuite(gateway, todo);
    const measured = await calibrate(
      async (fn, payload) => {
        const r = (await gateway.invoke({ function: fn, payload }, { timeoutMs: 300_000 })).message;
        return { execUs: r.timings?.execUs ?? 0n, ok: r.status === InvocationStatus.OK };
      },
      todo,
      o.calibration ?? { points: [0, 0.25, 0.5, 0.75, 1], repeats: 3 },
    );
    for (const [name, model] of measured) {
      models.set(name, model);
      cache.set(digests.get(name)!, model);
      log(`  ${name}: ${model.fixedMs.toFixed(1)} ms + ${model.perWorkMs.toPrecision(3)} ms x work`);
    }
    cache.save();
  } finally {
    gateway.close();
    await mesh.stop();
  }
  return models;
}

export async function runScenario(scenario: Scenario, o: RunOptions): Promise<ScenarioResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workload = buildWorkload(await loadSource(scenario.trace), scenario.workload);
  const stats = workloadStats(workload);
  const offeredCpuS = workload.arrivals.length === 0 ? 0 : workload.arrivals.reduce((s, a) => s + (workload.functions.find((f) => f.id === a.functionId)?.avgDurationMs ?? 0), 0) / 1000;
  log(`workload: ${workload.description}`);
  log(`  ${stats.arrivals} arrivals of ${stats.activeFunctions} functions over ${(workload.durationMs / 1000).toFixed(0)} s (mean ${stats.meanPerSecond.toFixed(1)}/s, peak ${stats.peakPerSecond}/s), ~${(offeredCpuS / (workload.durationMs / 1000)).toFixed(2)} s of function work per second`);

  fs.mkdirSync(o.outDir, { recursive: true });
  const suite = o.suite ?? SUITE;
  const models = await suiteModels(suite, { ...o, log }, o.outDir);
  const used = new Set(workload.arrivals.map((a) => a.functionId));
  const mapping = mapTraceFunctions(workload.functions.filter((f) => used.has(f.id)), suite, models);
  const assignments = new Map<string, Assignment>();
  const encoder = new TextEncoder();
  const timeouts = new Map(suite.map((fn) => [fn.name, readFunctionDir(fn.dir).spec?.limits?.timeoutMs || 60_000]));
  for (const [id, m] of mapping) {
    const fn = suite.find((s) => s.name === m.fn)!;
    // A per-function seed: functions mapped onto the same benchmark still get their own inputs.
    const seed = [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
    assignments.set(id, { fn: fn.name, payload: encoder.encode(JSON.stringify(fn.payload(m.work, seed))), timeoutMs: timeouts.get(fn.name)! + (o.allowanceMs ?? 120_000) });
  }
  const suiteUsed = suite.filter((fn) => [...mapping.values()].some((m) => m.fn === fn.name));
  log(`mapped ${mapping.size} trace functions onto ${suiteUsed.map((f) => f.name).join(", ")}`);

  const reports: RunReport[] = [];
  const runDirs: string[] = [];
  for (const policy of scenario.policies) {
    const runDir = path.join(o.outDir, `run-${runDirs.length + 1}-${policy.name.replace(/[^a-zA-Z0-9=-]+/g, "_")}`);
    runDirs.push(runDir);
    const mesh = await LocalMesh.start({ dir: runDir, env: { all: { LOG_LEVEL: "warn" }, "node-manager": { ...policy.env } } });
    const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl);
    const traceStore = createGrpcJsClient(TraceStoreService, mesh.url("trace-store"));
    const target = scenario.protocol === "connect" ? connectTarget(mesh.gatewayUrl) : grpcTarget(mesh.gatewayUrl);
    try {
      await deploySuite(gateway, suiteUsed);
      const run = await replay({ label: policy.name, arrivals: workload.arrivals, assignments, target, durationMs: workload.durationMs, progress: o.progress });
      const facts = await collectServerFacts(traceStore, run);
      reports.push(buildRunReport(run, workload.description, facts));
    } finally {
      target.close();
      gateway.close();
      traceStore.close();
      await mesh.stop();
    }
  }
  const markdown = renderMarkdown(reports);
  const files = { markdown: path.join(o.outDir, "report.md"), html: path.join(o.outDir, "report.html") };
  fs.writeFileSync(files.markdown, markdown);
  fs.writeFileSync(files.html, renderHtml(reports));
  return { workload, reports, runDirs, markdown, files };
}
