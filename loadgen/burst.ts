// Burst scenarios: N simultaneous invocations of one benchmark function, once per batching policy, each in
// a fresh mesh. Reports per policy: latency p50/p99 and the makespan (client side), containers created,
// memory-seconds (trace-store, over the burst) and their cost by the cost model. Prints a table and JSON.
//   node dist/loadgen/burst.js [--function io-journal] [--n 500] [--work 0.05] [--concurrency 64] [--workers 1]
//        [--policies vanilla,window-only,kraken,faasbatch] [--env VAR=value,...]
//   (policies: the balancer's BATCHING_POLICY values, and vanilla-openwhisk: vanilla on a node that scales
//   up as OpenWhisk does, a container per waiting invocation while memory lasts)
//   ... --profile FILE      measure S(n) and E(d) (the planner's profiling run; medians of --repeat R runs)
//                           and write them to FILE
//   ... --sweep 1,2,4,...   faasbatch at each packing degree: the oracle; with --packing-profile FILE the
//                           planner's choices for time, cost and both are run too and compared with it; --repeat R
//                           runs each degree R times and takes the medians
// The function is deployed with max concurrency --concurrency (the user's limit per container); vanilla
// runs one invocation per container regardless (OpenWhisk's default).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { billedSeconds, type ExecutionInterval } from "./billed-time.js";
import { fitCpu, type CpuSample } from "./cpu-fit.js";
import { InvocationStatus, StartKind } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { TraceStoreService } from "../gen/faas/tracestore/v1/trace_store_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { qualifiedName } from "../services/gateway/tenancy/tenant-names.js";
import type { CurvePoint } from "../services/balancer/packing/curve.js";
import { PackingModel, type PackingProfile } from "../services/balancer/packing/packing-model.js";
import { LAMBDA_X86_USD_PER_GB_SECOND } from "../services/balancer/packing/planner.js";
import { DEFAULT_BATCH_MAX_SIZE } from "../services/balancer/dispatch/batching-policy.js";

export interface BurstOptions {
  readonly fn: string;
  readonly n: number;
  readonly work: number;
  readonly concurrency: number;
  /** Worker processes per container (faas.workers). */
  readonly workers: number;
  readonly policies: readonly string[];
  readonly env: Record<string, string>;
  /** Measure S(n) and E(d) and write them to this file as a packing profile, instead of the policies. */
  readonly profile?: string;
  /** faasbatch at each of these packing degrees (the oracle), instead of the policies. */
  readonly sweep?: readonly number[];
  /** With sweep: runs per degree (the figures are their medians). */
  readonly repeat?: number;
  /** With sweep: the profile whose planner's choices are compared with the oracle. */
  readonly packingProfile?: string;
  /** One invocation first, so the burst finds a warm container (E(d) measurement). */
  readonly warmFirst?: boolean;
  /**
   * This many invocations at once after warmFirst and before the burst measured, on the same mesh: the
   * burst then finds the function's worker past its first runs (its code compiled by V8's optimising
   * tiers), as the pieces of a burst of hundreds do after their first round (R(d) and B(d)).
   */
  readonly warmup?: number;
}

export interface BurstResult {
  readonly policy: string;
  readonly ok: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly totalMs: number;
  readonly containers: number;
  /** Containers' lifetimes × their memory, over the burst. */
  readonly memoryGbSeconds: number;
  /** Execution time billed (per container, the union of its invocations' executions) × memory. */
  readonly billedGbSeconds: number;
  /** The billed GB-seconds at the cost model's price (the planner's C(d)). */
  readonly costUsd: number;
  /** From the records: the slowest COLD start-up (the n-th instance up) and the slowest execution. */
  readonly slowestColdStartupMs: number;
  readonly slowestExecMs: number;
  /** CPU-seconds this machine's CPUs spent from the first request to the last answer (all processes). */
  readonly cpuS: number;
  /** The billed execution time in seconds, unrounded (billedGbSeconds without the memory). */
  readonly billedS: number;
}

/** CPU-seconds this machine's CPUs have spent so far (kernel counters, 10 ms resolution). */
function machineCpuSeconds(): number {
  let ms = 0;
  for (const c of os.cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1000;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** The tenant the burst's meshes run as (LocalMesh's default). */
const MESH_TENANT = "dev";

/** A benchmark function of the suite (functions/bench) or of the benchmarks (bench/functions). */
function functionDir(name: string): string {
  for (const dir of [path.join(REPO_ROOT, "functions/bench", name), path.join(REPO_ROOT, "bench/functions", name)]) if (fs.existsSync(dir)) return dir;
  throw new Error(`no benchmark function ${name} in functions/bench or bench/functions`);
}

/**
 * Policies of the burst tool beyond the balancer's BATCHING_POLICY values: vanilla-openwhisk is vanilla on
 * a node that scales up as OpenWhisk's invoker does, a container per waiting invocation while memory
 * lasts (no CPU-saturation rule, no bound on concurrent starts), the baseline FaaSBatch measured against.
 */
const BURST_POLICIES: Record<string, { readonly batching: string; readonly node: Record<string, string> }> = {
  "vanilla-openwhisk": { batching: "vanilla", node: { SCALE_UP_CPU_LIMIT: "1", MAX_CONCURRENT_STARTS: "1000" } },
};

export async function runBurst(o: BurstOptions, policy: string): Promise<BurstResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faas-burst-${policy}-`));
  const { batching, node } = BURST_POLICIES[policy] ?? { batching: policy, node: {} };
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" }, balancer: { BATCHING_POLICY: batching, ...o.env }, "node-manager": { ...node, ...o.env } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const traceStore = createGrpcJsClient(TraceStoreService, mesh.url("trace-store"));
  try {
    const spec = readFunctionDir(functionDir(o.fn), { maxConcurrency: o.concurrency, workers: o.workers });
    await gateway.deployFunction(spec, { timeoutMs: 600_000 });
    const name = spec.spec!.name;
    const memoryMb = spec.spec!.limits?.memoryMb || 256;
    const payload = new TextEncoder().encode(JSON.stringify({ work: o.work, seed: 7 }));
    if (o.warmFirst) await gateway.invoke({ function: name, payload }, { timeoutMs: 600_000 });
    if (o.warmup) {
      const answers = await Promise.all(Array.from({ length: o.warmup }, () => gateway.invoke({ function: name, payload }, { timeoutMs: 600_000 })));
      const failed = answers.find((a) => a.message.status !== InvocationStatus.OK);
      if (failed) throw new Error(`warm-up invocation failed: ${InvocationStatus[failed.message.status]}: ${failed.message.error?.message}`);
    }
    // What the machine spends with the mesh idle (its timers, the docker daemon, other processes), to be
    // taken out of the burst's CPU: half a second of it, measured just before.
    const idle0 = machineCpuSeconds();
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const idleCpuPerMs = (machineCpuSeconds() - idle0) / (performance.now() - idleT0);
    const sinceUs = BigInt(Date.now()) * 1000n;
    const cpu0 = machineCpuSeconds();
    const t0 = performance.now();
    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    await Promise.all(
      Array.from({ length: o.n }, async () => {
        try {
          const r = (await gateway.invoke({ function: name, payload }, { timeoutMs: 600_000 })).message;
          if (r.status === InvocationStatus.OK) latencies.push(performance.now() - t0);
          else {
            errors++;
            firstError ??= `${InvocationStatus[r.status]}: ${r.error?.message}`;
          }
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }),
    );
    const totalMs = performance.now() - t0;
    const cpuS = Math.max(0, machineCpuSeconds() - cpu0 - idleCpuPerMs * totalMs);
    if (firstError) process.stderr.write(`${policy}: ${errors} of ${o.n} failed; the first: ${firstError}\n`);
    const untilUs = BigInt(Date.now()) * 1000n;
    // Records and container events arrive a little after the answers.
    let summary = (await traceStore.summarize({ filter: { function: mesh.qualified(name), sinceUnixUs: sinceUs, untilUnixUs: untilUs } })).message;
    for (let i = 0; i < 100 && Number(summary.invocations) < o.n; i++) {
      await new Promise((r) => setTimeout(r, 100));
      summary = (await traceStore.summarize({ filter: { function: mesh.qualified(name), sinceUnixUs: sinceUs, untilUnixUs: untilUs } })).message;
    }
    const { message } = await traceStore.queryInvocations({ filter: { function: mesh.qualified(name), sinceUnixUs: sinceUs }, limit: 10_000 });
    let slowestColdStartupMs = 0;
    let slowestExecMs = 0;
    const executions: ExecutionInterval[] = [];
    for (const r of message.records) {
      const t = r.timings;
      if (r.startKind === StartKind.COLD) slowestColdStartupMs = Math.max(slowestColdStartupMs, Number(t?.startupUs ?? 0n) / 1000);
      slowestExecMs = Math.max(slowestExecMs, Number(t?.execUs ?? 0n) / 1000);
      if (!t || !r.containerId) continue;
      const startUs = Number(r.receivedAtUnixUs + t.queuedUs + t.startupUs + t.initUs);
      executions.push({ containerId: r.containerId, startUs, endUs: startUs + Number(t.execUs) });
    }
    const sorted = sortedCopy(latencies);
    const memoryGbSeconds = summary.memoryMbSeconds / 1024;
    const billedGbSeconds = (billedSeconds(executions) * memoryMb) / 1024;
    return {
      policy,
      ok: latencies.length,
      errors,
      p50Ms: round(nearestRank(sorted, 50)),
      p99Ms: round(nearestRank(sorted, 99)),
      totalMs: round(totalMs),
      containers: Number(summary.containersCreated),
      memoryGbSeconds: round(memoryGbSeconds, 2),
      billedGbSeconds: round(billedGbSeconds, 3),
      costUsd: Number((billedGbSeconds * LAMBDA_X86_USD_PER_GB_SECOND).toPrecision(3)),
      slowestColdStartupMs: round(slowestColdStartupMs),
      slowestExecMs: round(slowestExecMs),
      cpuS: round(cpuS, 3),
      billedS: billedSeconds(executions),
    };
  } finally {
    gateway.close();
    traceStore.close();
    await mesh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function renderBurstTable(o: BurstOptions, results: readonly BurstResult[]): string {
  const lines = [
    `burst of ${o.n} × ${o.fn} (work ${o.work}, max concurrency ${o.concurrency}, ${o.workers} worker(s) per container) on ${os.cpus().length} cores`,
    ...resultTable("policy", results.map((r) => [r.policy, r])),
  ];
  return lines.join("\n");
}

/** A Markdown table of results, each row led by its label (a policy, a degree). */
function resultTable(first: string, rows: ReadonlyArray<readonly [string | number, BurstResult]>): string[] {
  return [
    `| ${first} | ok | errors | p50 ms | p99 ms | total ms | containers | memory GB·s | billed GB·s | cost USD |`,
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(([label, r]) => `| ${label} | ${r.ok} | ${r.errors} | ${r.p50Ms} | ${r.p99Ms} | ${r.totalMs} | ${r.containers} | ${r.memoryGbSeconds} | ${r.billedGbSeconds} | ${r.costUsd} |`),
  ];
}

const BURST_FLAGS = ["function", "n", "work", "concurrency", "workers", "policies", "env", "profile", "sweep", "packing-profile", "repeat"] as const;

/** The burst tool's options from its command line; unknown flags, missing values and bad numbers are errors. */
export function burstOptionsFrom(argv: readonly string[]): BurstOptions {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: Object.fromEntries(BURST_FLAGS.map((name) => [name, { type: "string" as const }])) });
  if (positionals.length > 0) throw new Error(`unexpected argument ${positionals[0]} (flags are --name value)`);
  const flags = new Map(Object.entries(values).filter((e): e is [string, string] => typeof e[1] === "string"));
  const num = (k: string, d: number) => {
    const v = flags.has(k) ? Number(flags.get(k)) : d;
    if (!(v > 0)) throw new Error(`--${k} must be a positive number, got ${flags.get(k)}`);
    return v;
  };
  const env: Record<string, string> = {};
  for (const kv of (flags.get("env") ?? "").split(",").filter(Boolean)) {
    const [k, ...v] = kv.split("=");
    if (!k || v.length === 0) throw new Error(`--env takes VAR=value[,VAR=value...], got ${kv}`);
    env[k] = v.join("=");
  }
  const fn = flags.get("function") ?? "io-journal";
  functionDir(fn);
  return {
    fn,
    n: Math.round(num("n", 500)),
    work: num("work", 0.05),
    concurrency: Math.round(num("concurrency", 64)),
    workers: Math.round(num("workers", 1)),
    policies: (flags.get("policies") ?? "vanilla,window-only,kraken,faasbatch").split(","),
    env,
    profile: flags.get("profile"),
    sweep: flags.get("sweep")?.split(",").map((x) => {
      const d = Number(x);
      if (!Number.isInteger(d) || d < 1) throw new Error(`--sweep takes packing degrees (positive integers), got ${x}`);
      return d;
    }),
    packingProfile: flags.get("packing-profile"),
    repeat: Math.round(num("repeat", 1)),
  };
}

/** Doubling from 1 up to max, and max itself. */
const doublings = (max: number) => {
  const out: number[] = [];
  for (let x = 1; x < max; x *= 2) out.push(x);
  out.push(max);
  return out;
};

/**
 * The profiling run: S(n) as the slowest COLD start-up when n containers came up for a burst of one
 * invocation each (vanilla), the cap on instances as the containers the whole burst got that way,
 * E(d) as the slowest execution when d run packed in one warm container, and the piece overhead h as
 * what the whole burst billed per invocation (a piece of one) beyond E(1); each the median of --repeat runs.
 * The CPU model is fitted to every one of those bursts' CPU-seconds (loadgen/cpu-fit.ts); they are this
 * machine's, the load generator's included, as it shares the cores with the mesh in every burst measured.
 */
async function measureProfile(o: BurstOptions): Promise<PackingProfile> {
  // S at the number of containers that came up (the node may start fewer than asked for: its cap).
  const scaling = new Map<number, number>();
  // Every burst's CPU, for the planner's CPU model: cold ones (singles, containers started) and warm ones.
  const cold: CpuSample[] = [];
  const warm: CpuSample[] = [];
  const coldRun = async (n: number): Promise<BurstResult> => {
    const r = await runBurst({ ...o, n }, "vanilla");
    cold.push({ started: r.containers, pieces: n, invocations: n, cpuS: r.cpuS });
    process.stderr.write(`  ${n} singles: ${r.containers} started, ${r.cpuS} CPU-s in ${r.totalMs} ms\n`);
    return r;
  };
  for (const n of doublings(Math.min(16, o.n))) {
    const r = await repeated(o, () => coldRun(n));
    const up = Math.max(1, r.containers);
    process.stderr.write(`asked for ${n}, ${up} came up: S(${up}) = ${r.slowestColdStartupMs} ms\n`);
    scaling.set(up, Math.max(scaling.get(up) ?? 0, r.slowestColdStartupMs / 1000));
  }
  // The cap: how many containers the whole burst, one invocation each, gets.
  const whole = await repeated(o, () => coldRun(o.n));
  const maxInstances = whole.containers < o.n ? Math.max(1, whole.containers) : undefined;
  process.stderr.write(`asked for ${o.n}, ${whole.containers} came up\n`);
  const service: CurvePoint[] = [];
  for (const d of doublings(o.concurrency)) {
    // One warm container of degree d first, then d at once: all of them in it.
    const r = await repeated(o, async () => {
      const one = await runBurst({ ...o, n: d, env: { ...o.env, BATCH_PACKING_DEGREE: String(d) }, warmFirst: true }, "faasbatch");
      warm.push({ started: one.containers, pieces: 1, invocations: d, cpuS: one.cpuS });
      process.stderr.write(`  one piece of ${d}, warm: ${one.containers} started, ${one.cpuS} CPU-s in ${one.totalMs} ms\n`);
      return one;
    });
    process.stderr.write(`E(${d}) = ${r.slowestExecMs} ms\n`);
    service.push({ x: d, y: r.slowestExecMs / 1000 });
  }
  // R(d) and B(d): pieces of d back to back on one instance, in the steady state of a burst: after a
  // warm-up of the same shape (until 2026-12-07 four pieces right after one invocation, where a single's
  // billed time was 3.0 ms against 0.8 ms in the burst of 500: the worker's first runs), PIECES_MEASURED
  // pieces; their time and billed seconds per piece.
  const spec = readFunctionDir(functionDir(o.fn)).spec!;
  const memoryGb = (spec.limits?.memoryMb || 256) / 1024;
  const roundTimes: CurvePoint[] = [];
  const billedTimes: CurvePoint[] = [];
  for (const d of doublings(o.concurrency)) {
    const pieces = Math.max(PIECES_MEASURED, Math.ceil(STEADY_INVOCATIONS / d));
    const env = { ...o.env, BATCH_PACKING_DEGREE: String(d), BATCH_PACKING_INSTANCES: "1" };
    const r = await repeated(o, () => runBurst({ ...o, n: pieces * d, env, warmFirst: true, warmup: Math.max(STEADY_INVOCATIONS, 4 * d) }, "faasbatch"));
    process.stderr.write(`R(${d}) = ${round(r.totalMs / pieces)} ms, B(${d}) = ${round((r.billedS / pieces) * 1000, 2)} ms (${pieces} pieces, ${r.containers} started)\n`);
    roundTimes.push({ x: d, y: r.totalMs / pieces / 1000 });
    billedTimes.push({ x: d, y: round(r.billedS / pieces, 6) });
  }
  const billedPerPiece = whole.billedGbSeconds / memoryGb / Math.max(1, whole.ok);
  const pieceOverhead = Math.max(0, billedPerPiece - service[0].y);
  process.stderr.write(`the burst billed ${round(billedPerPiece * 1000, 2)} ms per invocation against E(1) = ${round(service[0].y * 1000, 2)} ms: h = ${round(pieceOverhead * 1000, 2)} ms\n`);
  const fitted = fitCpu(warm, cold, os.cpus().length);
  // Under the name the mesh knows it by (LocalMesh's tenant), so that a balancer given the profile finds it.
  const name = qualifiedName(MESH_TENANT, spec.name);
  const cpu = { cores: fitted.cores, instanceS: round(fitted.instanceS, 4), pieceS: round(fitted.pieceS, 6), invocationS: round(fitted.invocationS, 6) };
  process.stderr.write(`CPU: ${cpu.cores} cores; ${cpu.instanceS} s per instance started, ${round(cpu.pieceS * 1000, 3)} ms per piece, ${round(cpu.invocationS * 1000, 3)} ms per invocation\n`);
  return {
    scaling: [...scaling].map(([x, y]) => ({ x, y })).sort((a, b) => a.x - b.x),
    service: { [name]: service },
    round: { [name]: roundTimes },
    billed: { [name]: billedTimes },
    ...(maxInstances !== undefined && { maxInstances }),
    pieceOverhead: round(pieceOverhead, 6),
    cpu,
  };
}

/** Pieces measured for R(d) and B(d), at least; and invocations, at least, in their warm-up and in them. */
const PIECES_MEASURED = 8;
const STEADY_INVOCATIONS = 64;

/** --repeat runs of one burst (run i of them), as their medians. */
async function repeated(o: BurstOptions, run: (i: number) => Promise<BurstResult>): Promise<BurstResult> {
  const runs: BurstResult[] = [];
  for (let i = 0; i < (o.repeat ?? 1); i++) runs.push(await run(i));
  return medianResult(runs);
}

/** Each figure the median of the runs' (a burst on 2 cores varies by ~10% run to run). */
function medianResult(runs: readonly BurstResult[]): BurstResult {
  const median = (pick: (r: BurstResult) => number) => nearestRank(sortedCopy(runs.map(pick)), 50);
  const errors = Math.max(...runs.map((r) => r.errors));
  return {
    policy: runs[0].policy,
    ok: Math.min(...runs.map((r) => r.ok)),
    errors,
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    totalMs: median((r) => r.totalMs),
    containers: median((r) => r.containers),
    memoryGbSeconds: median((r) => r.memoryGbSeconds),
    billedGbSeconds: median((r) => r.billedGbSeconds),
    costUsd: median((r) => r.costUsd),
    slowestColdStartupMs: median((r) => r.slowestColdStartupMs),
    slowestExecMs: median((r) => r.slowestExecMs),
    cpuS: median((r) => r.cpuS),
    billedS: median((r) => r.billedS),
  };
}

/** faasbatch at each degree: the measured optimum (the oracle) for time and cost, and the planner's choices beside it. */
async function sweep(o: BurstOptions): Promise<void> {
  // The planner's choices first, so that the sweep runs them too and each is measured, not neighboured.
  const plans = new Map<string, number>();
  // With a profile, every run's balancer has it too, so each degree is dispatched as the platform would
  // dispatch it (on the instances the CPU model asks for, when the profile has one).
  let env = o.env;
  if (o.packingProfile) {
    const model = PackingModel.fromFile(o.packingProfile);
    const spec = readFunctionDir(functionDir(o.fn)).spec!;
    const batchSize = Number(o.env.BATCH_MAX_SIZE ?? DEFAULT_BATCH_MAX_SIZE);
    for (const objective of ["time", "cost", "both"] as const) {
      const plan = model.plan(qualifiedName(MESH_TENANT, spec.name), o.n, spec.limits?.memoryMb || 256, o.concurrency, { objective }, batchSize);
      if ("missing" in plan) throw new Error(plan.missing);
      plans.set(objective, plan.degree);
      const p = plan.predictions[plan.degree - 1];
      process.stderr.write(`planner (${objective}): degree ${plan.degree} on ${p.instances} instances, predicted ${round(p.totalS * 1000)} ms, stretch ${round(p.stretch, 2)}\n`);
    }
    env = { ...env, PACKING_PROFILE: path.resolve(o.packingProfile) };
  }
  const degrees = [...new Set([...o.sweep!, ...plans.values()])].sort((a, b) => a - b);
  const rows: Array<BurstResult & { degree: number }> = [];
  for (const d of degrees) {
    const median = await repeated(o, async (i) => {
      process.stderr.write(`degree ${d}, run ${i + 1} of ${o.repeat ?? 1}: ${o.n} × ${o.fn} ...\n`);
      const r = await runBurst({ ...o, env: { ...env, BATCH_PACKING_DEGREE: String(d) } }, "faasbatch");
      process.stderr.write(`  p50 ${r.p50Ms} ms, total ${r.totalMs} ms, ${r.containers} containers, billed ${r.billedGbSeconds} GB·s\n`);
      return r;
    });
    rows.push({ ...median, degree: d });
  }
  console.log(`sweep: ${o.n} × ${o.fn} (work ${o.work}), faasbatch at each packing degree${(o.repeat ?? 1) > 1 ? `, medians of ${o.repeat} runs` : ""}`);
  console.log(resultTable("degree", rows.map((r) => [r.degree, r])).join("\n"));
  const complete = rows.filter((r) => r.errors === 0);
  const bestTime = complete.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
  const bestCost = complete.reduce((a, b) => (b.costUsd < a.costUsd ? b : a));
  console.log(`oracle: fastest degree ${bestTime.degree} (${bestTime.totalMs} ms), cheapest degree ${bestCost.degree} ($${bestCost.costUsd})`);
  const choices: Record<string, unknown> = {};
  for (const [objective, degree] of plans) {
    const measured = rows.find((r) => r.degree === degree)!;
    const timeRatio = measured.totalMs / bestTime.totalMs;
    const costRatio = measured.costUsd / bestCost.costUsd;
    choices[objective] = { degree, timeVsBest: round(timeRatio, 3), costVsBest: round(costRatio, 3) };
    console.log(`planner (${objective}): degree ${degree}: time ${round(timeRatio, 3)}x the fastest, cost ${round(costRatio, 3)}x the cheapest`);
  }
  console.log(JSON.stringify({ sweep: rows, oracle: { fastest: bestTime.degree, cheapest: bestCost.degree }, planner: choices }, null, 2));
}

async function main() {
  const o = burstOptionsFrom(process.argv.slice(2));
  if (o.profile) {
    const profile = await measureProfile(o);
    fs.writeFileSync(o.profile, JSON.stringify(profile, null, 2) + "\n");
    console.log(JSON.stringify(profile, null, 2));
    return;
  }
  if (o.sweep) return sweep(o);
  const results: BurstResult[] = [];
  for (const policy of o.policies) {
    process.stderr.write(`${policy}: ${o.n} × ${o.fn} ...\n`);
    results.push(await runBurst(o, policy));
  }
  console.log(renderBurstTable(o, results));
  console.log(JSON.stringify({ burst: { function: o.fn, n: o.n, work: o.work, concurrency: o.concurrency }, results }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
