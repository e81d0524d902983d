// `npm run bench:tracing`: what tracing costs the mesh's warm throughput, in one run. One mesh per mode
// runs side by side, all started and warmed first; then load goes to them in turn, a short slice each,
// for many rounds, so that the machine's drift, which on this virtual machine moves throughput by ±10%
// within a minute, hits every mode alike. Each round gives a ratio to `off` from slices seconds apart;
// the ratios' median is the result, their quartiles its spread. The rounds' orders form a Williams
// design (each mode follows every other mode equally often) with a pause between slices: a mesh that
// recorded every span goes on exporting and collecting garbage for a moment after its slice, and with
// the order only reversed every other round, the mode after `all` was always `sampled`, which took
// that tail in half its slices.
//   off       OTEL_SDK_DISABLED=true: no SDK at all (the reference)
//   unsampled the SDK on, nothing recorded (always_off): what tracing costs before any span is kept
//   sampled   the default: parent-based, 10% of new traces recorded and exported
//   all       every trace recorded and exported (parentbased_always_on)
// Spans go over OTLP/HTTP to a sink per mesh in this process (otlp-sink.ts) that reads and counts the requests (a collector's
// receiving end, without its storage). Beside throughput, the mesh's CPU per invocation (the five
// services, the sidecar and the worker, from /proc), counted from the start of a mesh's slice to the
// start of its next one, so the spans it exports after its slice are charged to it; also per process.
// Prints JSON; targets: all >= 0.90, sampled >= 0.98 of off's throughput.
// Settings: BENCH_ROUNDS (12), BENCH_SLICE_S (4), BENCH_GAP_S (1, the pause between slices),
// BENCH_WARMUP_CALLS (1500), BENCH_WARMUP_S (20), BENCH_CLIENTS (64), BENCH_MODES (off,unsampled,sampled,all).
// Warm-up, per mesh before the rounds: BENCH_WARMUP_CALLS one at a time, then BENCH_WARMUP_S of the
// slices' load. The load part is for the tracing pipeline: at 10% a process fills its first export batch
// (512 spans) only after ~5,000 invocations, so with the calls alone a mesh's first exports (their code
// still cold, node-manager's relay loading its HTTP client) and its heap's first growth fell in the
// measured rounds: `sampled`'s first 8 of 24–48 rounds came out 3–22% under its later ones (three runs
// on 2026-12-07), `unsampled`'s not.
// BENCH_RATE (unset): offer this many invocations a second to every mesh (open loop, at most
// BENCH_CLIENTS in flight) instead of the closed loop: throughput is then the rate, and CPU per
// invocation is the figure, free of the closed loop's coupling (a slower mesh shares fewer calls per
// wake-up and write, so even processes that trace nothing show more CPU per call).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { isTracingMode, startOtlpSink, TRACING_MODES, tracingModeEnv, type OtlpSink, type TracingMode } from "./otlp-sink.js";
import { cpuSince, meshPids } from "./process-stat.js";
import { closedLoop, openLoop } from "./throughput.js";
import { williamsOrders } from "./williams-orders.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = env("BENCH_ROUNDS", 12);
const SLICE_S = env("BENCH_SLICE_S", 4);
const GAP_S = env("BENCH_GAP_S", 1);
const WARMUP_CALLS = env("BENCH_WARMUP_CALLS", 1500);
const WARMUP_S = env("BENCH_WARMUP_S", 20);
const CLIENTS = env("BENCH_CLIENTS", 64);
const RATE = process.env.BENCH_RATE ? env("BENCH_RATE", 0) : undefined;
if (RATE !== undefined && !(RATE > 0)) throw new Error("BENCH_RATE must be a positive number of invocations a second");
/** Sequential calls per mode and round for the warm latency. */
const WARM_CALLS = 100;

type Mode = TracingMode;
const MODES: Mode[] = (process.env.BENCH_MODES ?? "off,unsampled,sampled,all").split(",").map((m) => {
  if (!isTracingMode(m)) throw new Error(`BENCH_MODES: unknown mode ${m} (known: ${TRACING_MODES.join(", ")})`);
  return m;
});
if (!MODES.includes("off")) throw new Error("BENCH_MODES must include off (the reference)");

/** One mode's mesh, deployed and warm, with what its slices measured. */
interface Contender {
  readonly mode: Mode;
  readonly mesh: LocalMesh;
  readonly dir: string;
  readonly invoke: () => Promise<void>;
  readonly close: () => void;
  readonly rps: number[];
  readonly cpuMsPerCall: number[];
  /** This process's CPU per call during the slice: the load generator's (and the sinks') share of the machine. */
  readonly clientCpuMsPerCall: number[];
  readonly byProcess: Record<string, number>[];
  readonly warm: number[];
  /** Calls the open loop (BENCH_RATE) skipped per slice, with BENCH_CLIENTS in flight. */
  readonly skipped: number[];
  /** Its own sink, so that exports are counted per mode whenever they arrive. */
  readonly sink: OtlpSink;
  /** Running since the start of its last slice: its CPU and calls until the next slice starts. */
  open?: { spent: () => Record<string, number>; calls: number };
}

async function startContender(mode: Mode): Promise<Contender> {
  const sink = await startOtlpSink();
  const endpoint = sink.endpoint;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faas-bench-tracing-${mode}-`));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn", ...tracingModeEnv(mode, endpoint) } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  try {
    await gateway.deployFunction(readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
    const payload = new TextEncoder().encode("{}");
    const invoke = async () => {
      const r = (await gateway.invoke({ function: "noop", payload }, { timeoutMs: 120_000 })).message;
      if (r.status !== InvocationStatus.OK) throw new Error(`noop (${mode}): ${InvocationStatus[r.status]} ${r.error?.message}`);
    };
    for (let i = 0; i < WARMUP_CALLS; i++) await invoke();
    if (WARMUP_S > 0) await closedLoop(invoke, CLIENTS, WARMUP_S);
    return { mode, mesh, dir, invoke, sink, close: () => gateway.close(), rps: [], cpuMsPerCall: [], clientCpuMsPerCall: [], byProcess: [], warm: [], skipped: [] };
  } catch (err) {
    gateway.close();
    await mesh.stop();
    sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Closes the contender's open CPU window: its CPU since its last slice began, per call of that slice. */
function settle(c: Contender): void {
  if (!c.open) return;
  const byProcess = c.open.spent();
  const calls = c.open.calls;
  c.byProcess.push(Object.fromEntries(Object.entries(byProcess).map(([name, ms]) => [name, ms / calls])));
  c.cpuMsPerCall.push(Object.values(byProcess).reduce((a, b) => a + b, 0) / calls);
  c.open = undefined;
}

async function slice(c: Contender): Promise<void> {
  settle(c);
  for (let i = 0; i < WARM_CALLS; i++) {
    const t0 = process.hrtime.bigint();
    await c.invoke();
    c.warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // Pids are read each time: the sidecar and worker are found through Docker.
  const spent = cpuSince(meshPids(c.mesh));
  const client0 = process.cpuUsage();
  const { rps, calls, skipped } = RATE === undefined ? { ...(await closedLoop(c.invoke, CLIENTS, SLICE_S)), skipped: 0 } : await openLoop(c.invoke, RATE, SLICE_S, CLIENTS);
  const client = process.cpuUsage(client0);
  c.clientCpuMsPerCall.push((client.user + client.system) / 1000 / calls);
  c.rps.push(rps);
  c.skipped.push(skipped);
  c.open = { spent, calls };
}

const median = (xs: number[]) => nearestRank(sortedCopy(xs), 50);
const r3 = (x: number) => Number(x.toFixed(3));
/** Median and quartiles. */
const spread = (xs: number[]) => {
  const s = sortedCopy(xs);
  return { median: r3(nearestRank(s, 50)), p25: r3(nearestRank(s, 25)), p75: r3(nearestRank(s, 75)) };
};

/** The name a mode has in the JSON (the sampled mode says its ratio). */
const LABEL: Record<Mode, string> = { off: "off", unsampled: "unsampled", sampled: "sampled_10pct", all: "all", "sampled-sdk": "sampled_10pct_sdk_spans", "all-sdk": "all_sdk_spans" };

async function main() {
  const contenders: Contender[] = [];
  try {
    for (const mode of MODES) {
      contenders.push(await startContender(mode));
      console.error(`${mode}: mesh up and warm`);
    }
    const orders = williamsOrders(contenders.length);
    for (let round = 0; round < ROUNDS; round++) {
      for (const i of orders[round % orders.length]) {
        await new Promise((resolve) => setTimeout(resolve, GAP_S * 1000));
        await slice(contenders[i]);
      }
      const off = contenders.find((c) => c.mode === "off")!;
      console.error(`round ${round + 1}/${ROUNDS}: ${contenders.map((c) => `${c.mode} ${Math.round(c.rps[round])}`).join(", ")} rps (off ${Math.round(off.rps[round])})`);
    }
    contenders.forEach(settle);
  } finally {
    for (const c of contenders) {
      c.close();
      await c.mesh.stop();
      c.sink.close();
      fs.rmSync(c.dir, { recursive: true, force: true });
    }
  }
  const off = contenders.find((c) => c.mode === "off")!;
  const perMode = <T>(f: (c: Contender) => T) => Object.fromEntries(contenders.map((c) => [LABEL[c.mode], f(c)]));
  // Paired: each round's slice of a mode against the same round's slice of off.
  const ratios = (c: Contender, of: (x: Contender) => number[]) => of(c).map((v, i) => v / of(off)[i]);
  console.log(
    JSON.stringify(
      {
        throughput_rps: perMode((c) => Math.round(median(c.rps))),
        throughput_vs_off: perMode((c) => spread(ratios(c, (x) => x.rps))),
        cpu_ms_per_invocation: perMode((c) => r3(median(c.cpuMsPerCall))),
        cpu_vs_off: perMode((c) => spread(ratios(c, (x) => x.cpuMsPerCall))),
        // Per process, the median over the rounds: where the spans' cost lands.
        cpu_ms_per_invocation_by_process: perMode((c) => Object.fromEntries(Object.keys(c.byProcess[0] ?? {}).map((p) => [p, r3(median(c.byProcess.map((b) => b[p] ?? 0)))]))),
        client_cpu_ms_per_invocation: perMode((c) => r3(median(c.clientCpuMsPerCall))),
        warm_ms_p50: perMode((c) => r3(median(c.warm))),
        ...(RATE === undefined ? {} : { open_loop_calls_skipped: perMode((c) => c.skipped.reduce((a, b) => a + b, 0)) }),
        otlp_exports_received: perMode((c) => c.sink.exports()),
        rounds: perMode((c) => c.rps.map(Math.round)),
        targets: { all_throughput_vs_off: ">= 0.90", sampled_10pct_throughput_vs_off: ">= 0.98" },
        samples: { rounds: ROUNDS, offered_rps: RATE ?? "closed loop", slice_seconds: SLICE_S, gap_seconds: GAP_S, warmup: WARMUP_CALLS, warmup_load_seconds: WARMUP_S, clients: CLIENTS, warm_calls_per_round: WARM_CALLS },
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
