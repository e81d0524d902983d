// `npm run bench:tracing`: what tracing costs the mesh's warm throughput, in one run. The same mesh is
// started three ways, in alternating rounds so that drift of the machine hits all three alike:
//   off       OTEL_SDK_DISABLED=true: no SDK at all (the reference)
//   sampled   the default: parent-based, 10% of new traces recorded and exported
//   all       every trace recorded and exported (parentbased_always_on)
//   unsampled the SDK on, nothing recorded (always_off): what tracing costs before any span is kept
//             (not run by default; BENCH_MODES=off,unsampled,sampled,all)
// Spans go over OTLP/HTTP to a sink in this process (otlp-sink.ts) that reads and counts the requests (a collector's
// receiving end, without its storage). Prints JSON: throughput_rps per mode (median of the rounds),
// warm p50, and the ratios to `off` (targets: all >= 0.90, sampled >= 0.98). Beside throughput, the mesh's
// CPU per invocation during the throughput phase (the five services, the sidecar and the worker, from
// /proc): throughput on this virtual machine drifts by ±10% between rounds, CPU time per call much less,
// and on a saturated machine throughput is its inverse. Its ratios to `off` read as costs (1.02 = 2% more).
// The CPU is also printed per process (which service pays for the spans).
// Settings: BENCH_ROUNDS (3), BENCH_WARMUP_CALLS (1500), BENCH_THROUGHPUT_S (10), BENCH_CLIENTS (64),
// BENCH_MODES (off,sampled,all).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { isTracingMode, startOtlpSink, TRACING_MODES, tracingModeEnv, type TracingMode } from "./otlp-sink.js";
import { cpuSince, meshPids } from "./process-stat.js";
import { closedLoop } from "./throughput.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = env("BENCH_ROUNDS", 3);
const WARMUP_CALLS = env("BENCH_WARMUP_CALLS", 1500);
const THROUGHPUT_S = env("BENCH_THROUGHPUT_S", 10);
const CLIENTS = env("BENCH_CLIENTS", 64);
const WARM_CALLS = 1000;

type Mode = TracingMode;
const MODES: Mode[] = (process.env.BENCH_MODES ?? "off,sampled,all").split(",").map((m) => {
  if (!isTracingMode(m)) throw new Error(`BENCH_MODES: unknown mode ${m} (known: ${TRACING_MODES.join(", ")})`);
  return m;
});
if (!MODES.includes("off")) throw new Error("BENCH_MODES must include off (the reference)");

async function measure(mode: Mode, endpoint: string): Promise<{ rps: number; warmP50: number; cpuMsPerCall: number; cpuByProcess: Record<string, number> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-bench-tracing-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn", ...tracingModeEnv(mode, endpoint) } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  try {
    await gateway.deployFunction(readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
    const payload = new TextEncoder().encode("{}");
    const invoke = async () => {
      const r = (await gateway.invoke({ function: "noop", payload }, { timeoutMs: 120_000 })).message;
      if (r.status !== InvocationStatus.OK) throw new Error(`noop: ${InvocationStatus[r.status]} ${r.error?.message}`);
    };
    for (let i = 0; i < WARMUP_CALLS; i++) await invoke();
    const warm: number[] = [];
    for (let i = 0; i < WARM_CALLS; i++) {
      const t0 = process.hrtime.bigint();
      await invoke();
      warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const spent = cpuSince(meshPids(mesh));
    const { rps, calls } = await closedLoop(invoke, CLIENTS, THROUGHPUT_S);
    const byProcess = spent();
    const cpuMs = Object.values(byProcess).reduce((a, b) => a + b, 0);
    const cpuByProcess = Object.fromEntries(Object.entries(byProcess).map(([name, ms]) => [name, ms / calls]));
    return { rps, warmP50: nearestRank(sortedCopy(warm), 50), cpuMsPerCall: cpuMs / calls, cpuByProcess };
  } finally {
    gateway.close();
    await mesh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The name a mode has in the JSON (the sampled mode says its ratio). */
const LABEL: Record<Mode, string> = { off: "off", unsampled: "unsampled", sampled: "sampled_10pct", all: "all" };

async function main() {
  const sink = await startOtlpSink();
  const results = new Map(MODES.map((m) => [m, { rps: [] as number[], warmP50: [] as number[], cpu: [] as number[], byProcess: [] as Record<string, number>[], exports: 0 }]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        const before = sink.exports();
        const r = await measure(mode, sink.endpoint);
        const into = results.get(mode)!;
        into.exports += sink.exports() - before;
        into.rps.push(r.rps);
        into.warmP50.push(r.warmP50);
        into.cpu.push(r.cpuMsPerCall);
        into.byProcess.push(r.cpuByProcess);
        console.error(`round ${round + 1}/${ROUNDS} ${mode}: ${Math.round(r.rps)} rps, warm p50 ${r.warmP50.toFixed(3)} ms, mesh CPU ${r.cpuMsPerCall.toFixed(3)} ms per call`);
      }
    }
  } finally {
    sink.close();
  }
  const median = (xs: number[]) => nearestRank(sortedCopy(xs), 50);
  const r3 = (x: number) => Number(x.toFixed(3));
  const perMode = <T>(f: (m: Mode, r: NonNullable<ReturnType<typeof results.get>>) => T) => Object.fromEntries(MODES.map((m) => [LABEL[m], f(m, results.get(m)!)]));
  const rps = (m: Mode) => median(results.get(m)!.rps);
  const cpu = (m: Mode) => median(results.get(m)!.cpu);
  console.log(
    JSON.stringify(
      {
        throughput_rps: perMode((m) => Math.round(rps(m))),
        throughput_vs_off: perMode((m) => r3(rps(m) / rps("off"))),
        cpu_ms_per_invocation: perMode((m) => r3(cpu(m))),
        cpu_vs_off: perMode((m) => r3(cpu(m) / cpu("off"))),
        // Per process, the median over the rounds: where the spans' cost lands.
        cpu_ms_per_invocation_by_process: perMode((_, r) => Object.fromEntries(Object.keys(r.byProcess[0] ?? {}).map((p) => [p, r3(median(r.byProcess.map((b) => b[p] ?? 0)))]))),
        warm_ms_p50: perMode((_, r) => r3(median(r.warmP50))),
        otlp_exports_received: perMode((_, r) => r.exports),
        rounds: perMode((_, r) => r.rps.map(Math.round)),
        cpu_rounds: perMode((_, r) => r.cpu.map(r3)),
        targets: { all_throughput_vs_off: ">= 0.90", sampled_10pct_throughput_vs_off: ">= 0.98" },
        samples: { rounds: ROUNDS, warmup: WARMUP_CALLS, throughput_seconds: THROUGHPUT_S, clients: CLIENTS },
        machine: { cpus: os.cpus().length, node: process.version },
      },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
