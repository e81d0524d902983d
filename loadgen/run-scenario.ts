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
import { planDeployments, type Deployment } from "./deployments.js";
import { loadSource, type Scenario } from "./scenario.js";
import {
  calibrate,
  mapTraceFunctions,
  refineMapping,
  SUITE,
  type BenchFunction,
  type CalibrateOptions,
  type DurationModel,
  type Refined,
  type RefineOptions,
  type RefineTarget,
} from "./suite/index.js";
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
  /** How mapped work sizes are checked and corrected when not cached. */
  readonly refine?: RefineOptions;
  /** The live progress line on stderr; default on. */
  readonly progress?: boolean;
}

export interface ScenarioResult {
  readonly workload: Workload;
  readonly reports: RunReport[];
  readonly accuracy: MappingAccuracy;
  /** Each run's mesh directory (its databases and logs), in the order of reports. */
  readonly runDirs: string[];
  readonly markdown: string;
  readonly files: { readonly markdown: string; readonly html: string };
}

type Gateway = ReturnType<typeof createGrpcJsClient<typeof GatewayService>>;

async function deploy(gateway: Gateway, deployments: readonly Deployment[]): Promise<void> {
  for (const d of deployments) await gateway.deployFunction(readFunctionDir(d.fn.dir, { name: d.name }), { timeoutMs: 900_000 });
}

/** How well the replayed functions stand for the trace's: measured warm duration against the trace average. */
export interface MappingAccuracy {
  readonly traceFunctions: number;
  readonly benchFunctions: number;
  /** Trace functions with an average of at least 50 ms, and those of them measured within 20% of it. */
  readonly checked: number;
  readonly within20Percent: number;
  readonly worstError: number;
}

interface Prepared {
  readonly assignments: Map<string, Assignment>;
  readonly suiteUsed: BenchFunction[];
  readonly accuracy: MappingAccuracy;
}

/**
 * Models for the suite (cached, or calibrated in a mesh of its own), the mapping of the workload's functions
 * onto the suite, and each mapped work size checked by measurement (cached, or refined in that mesh).
 */
async function prepareAssignments(workload: Workload, suite: readonly BenchFunction[], o: RunOptions, log: (line: string) => void): Promise<Prepared> {
  const cacheFile = o.calibrationFile ?? path.join(REPO_ROOT, ".faas/calibration.json");
  const cache = new CalibrationCache(cacheFile);
  const digests = new Map(suite.map((fn) => {
    const req = readFunctionDir(fn.dir, { name: fn.name });
    return [fn.name, functionDigest(req.spec!, req.code!)] as const;
  }));
  const models = new Map<string, DurationModel>();
  for (const fn of suite) {
    const cached = cache.model(digests.get(fn.name)!);
    if (cached) models.set(fn.name, cached);
  }
  const uncalibrated = suite.filter((fn) => !models.has(fn.name));
  const used = new Set(workload.arrivals.map((a) => a.functionId));
  const traceFns = workload.functions.filter((f) => used.has(f.id));
  // Trace averages are whole milliseconds in the traces; targets are kept so, to share cache entries.
  const target = (id: string) => Math.max(1, Math.round(traceFns.find((f) => f.id === id)!.avgDurationMs));

  let mesh: LocalMesh | undefined;
  let gateway: Gateway | undefined;
  const deployed = new Set<string>();
  const prepMesh = async (fns: readonly BenchFunction[]) => {
    if (!mesh) {
      mesh = await LocalMesh.start({ dir: path.join(o.outDir, "calibration"), env: { all: { LOG_LEVEL: "warn" } } });
      gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
    }
    await deploy(gateway!, fns.filter((f) => !deployed.has(f.name)).map((fn) => ({ name: fn.name, fn })));
    for (const f of fns) deployed.add(f.name);
    return gateway!;
  };
  const invoke = async (fn: string, payload: Uint8Array) => {
    const r = (await gateway!.invoke({ function: fn, payload }, { timeoutMs: 300_000 })).message;
    if (r.status !== InvocationStatus.OK) throw new Error(`${fn}: ${InvocationStatus[r.status]} ${r.error?.message ?? ""}`);
    return r;
  };
  try {
    if (uncalibrated.length > 0) {
      log(`calibrating ${uncalibrated.length} benchmark functions on this machine (cached in ${cacheFile}) ...`);
      await prepMesh(uncalibrated);
      const measured = await calibrate(async (fn, payload) => ({ execUs: (await invoke(fn, payload)).timings?.execUs ?? 0n, ok: true }), uncalibrated, o.calibration ?? { points: [0, 0.25, 0.5, 0.75, 1], repeats: 3 });
      for (const [name, model] of measured) {
        models.set(name, model);
        cache.setModel(digests.get(name)!, model);
      }
      cache.save();
    }
    const mapping = mapTraceFunctions(traceFns, suite, models);
    const todo: RefineTarget[] = [];
    const refined = new Map<string, Refined>();
    for (const [id, m] of mapping) {
      const digest = digests.get(m.fn)!;
      const hit = cache.refined(digest, target(id));
      if (hit) refined.set(id, hit);
      else todo.push({ key: id, fn: suite.find((f) => f.name === m.fn)!, model: models.get(m.fn)!, work: m.work, targetMs: target(id) });
    }
    if (todo.length > 0) {
      log(`checking ${todo.length} mapped work sizes by measurement ...`);
      await prepMesh([...new Set(todo.map((t) => t.fn))]);
      const fresh = await refineMapping(todo, async (fn, payload) => Number((await invoke(fn, payload)).timings?.execUs ?? 0n) / 1000, o.refine ?? { rounds: 2, repeats: 3, tolerance: 0.1 });
      for (const [id, r] of fresh) {
        refined.set(id, r);
        cache.setRefined(digests.get(r.fn)!, r.targetMs, r);
      }
      cache.save();
    }

    const encoder = new TextEncoder();
    const timeouts = new Map(suite.map((fn) => [fn.name, readFunctionDir(fn.dir).spec?.limits?.timeoutMs || 60_000]));
    const assignments = new Map<string, Assignment>();
    for (const [id, r] of refined) {
      const fn = suite.find((s) => s.name === r.fn)!;
      // A per-function seed: functions mapped onto the same benchmark still get their own inputs.
      const seed = [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
      assignments.set(id, { fn: fn.name, payload: encoder.encode(JSON.stringify(fn.payload(r.work, seed))), timeoutMs: timeouts.get(fn.name)! + (o.allowanceMs ?? 120_000) });
    }
    const checked = [...refined.values()].filter((r) => r.targetMs >= 50);
    const suiteUsed = suite.filter((fn) => [...refined.values()].some((r) => r.fn === fn.name));
    return {
      assignments,
      suiteUsed,
      accuracy: {
        traceFunctions: refined.size,
        benchFunctions: suiteUsed.length,
        checked: checked.length,
        within20Percent: checked.filter((r) => Math.abs(r.error) <= 0.2).length,
        worstError: checked.reduce((w, r) => (Math.abs(r.error) > Math.abs(w) ? r.error : w), 0),
      },
    };
  } finally {
    gateway?.close();
    await mesh?.stop();
  }
}

export async function runScenario(scenario: Scenario, o: RunOptions): Promise<ScenarioResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workload = buildWorkload(await loadSource(scenario.trace), scenario.workload);
  const stats = workloadStats(workload);
  const avgMs = new Map(workload.functions.map((f) => [f.id, f.avgDurationMs]));
  const offeredCpuS = workload.arrivals.reduce((sum, a) => sum + (avgMs.get(a.functionId) ?? 0), 0) / 1000;
  const notes = [
    `${stats.arrivals} arrivals of ${stats.activeFunctions} functions over ${(workload.durationMs / 1000).toFixed(0)} s (mean ${stats.meanPerSecond.toFixed(1)}/s, peak ${stats.peakPerSecond}/s), ~${(offeredCpuS / Math.max(workload.durationMs / 1000, 1e-9)).toFixed(2)} s of function work per second.`,
  ];
  log(`workload: ${workload.description}`);
  log(`  ${notes[0]}`);

  fs.mkdirSync(o.outDir, { recursive: true });
  const prepared = await prepareAssignments(workload, o.suite ?? SUITE, o, log);
  const { suiteUsed, accuracy } = prepared;
  const { deployments, assignments } = planDeployments(prepared.assignments, suiteUsed, scenario.deploy);
  notes.push(
    `Mapped ${accuracy.traceFunctions} trace functions onto ${suiteUsed.map((f) => f.name).join(", ")}; ` +
      `measured warm duration within 20% of the trace average for ${accuracy.within20Percent} of ${accuracy.checked} (averages >= 50 ms), worst ${(100 * accuracy.worstError).toFixed(0)}%. ` +
      (scenario.deploy === "per-trace-function"
        ? `Each trace function is deployed as a function of its own (${deployments.length} functions).`
        : `Trace functions mapped onto one benchmark function share its deployment (${deployments.length} functions).`),
  );
  log(notes[1]);

  const reports: RunReport[] = [];
  const runDirs: string[] = [];
  for (const policy of scenario.policies) {
    const runDir = path.join(o.outDir, `run-${runDirs.length + 1}-${policy.name.replace(/[^a-zA-Z0-9=-]+/g, "_")}`);
    runDirs.push(runDir);
    // A policy's settings go to node-manager and zygote-builder (which plans the package sets it shares).
    const mesh = await LocalMesh.start({ dir: runDir, env: { all: { LOG_LEVEL: "warn" }, "node-manager": { ...policy.env }, "zygote-builder": { ...policy.env } } });
    const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
    const traceStore = createGrpcJsClient(TraceStoreService, mesh.url("trace-store"));
    const target = scenario.protocol === "connect" ? connectTarget(mesh.gatewayUrl, mesh.apiKey) : grpcTarget(mesh.gatewayUrl, mesh.apiKey);
    try {
      await deploy(gateway, deployments);
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
  const markdown = renderMarkdown(reports, notes);
  const files = { markdown: path.join(o.outDir, "report.md"), html: path.join(o.outDir, "report.html") };
  fs.writeFileSync(files.markdown, markdown);
  fs.writeFileSync(files.html, renderHtml(reports, notes));
  return { workload, reports, accuracy, runDirs, markdown, files };
}
