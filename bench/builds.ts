// `node dist/bench/builds.js ROOT_A ROOT_B`: warm throughput of two builds of the mesh, side by side on
// this machine, so that a change's effect is measured against the machine's drift (±10–20% within
// minutes on our 2-core VM). Each root is a checkout with `dist/` built (e.g. a `git worktree` of the
// commit before a change, with node_modules linked). Both meshes run at once, in the tracing mode
// BENCH_TRACING (off; the modes of bench:tracing, each build exporting to a sink of its own here), and take
// turns: BENCH_SLICE_S (4) seconds of closed-loop no-op calls from BENCH_CLIENTS (64) clients, BENCH_GAP_S
// (1) apart, BENCH_ROUNDS (12) rounds, the order swapped every round. Prints JSON: the median of the
// paired ratios B/A with quartiles, and each build's rps per round. The position itself has a bias of a
// few percent on this VM (an A/A run gave 1.048), so run both orders and take the two together.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isTracingMode, startOtlpSink, TRACING_MODES, tracingModeEnv, type OtlpSink, type TracingMode } from "./otlp-sink.js";
import { closedLoop } from "./throughput.js";
import { williamsOrders } from "./williams-orders.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = env("BENCH_ROUNDS", 12);
const SLICE_S = env("BENCH_SLICE_S", 4);
const GAP_S = env("BENCH_GAP_S", 1);
const CLIENTS = env("BENCH_CLIENTS", 64);
const WARMUP_S = env("BENCH_WARMUP_S", 15);
const TRACING = tracingMode(process.env.BENCH_TRACING ?? "off");

function tracingMode(m: string): TracingMode {
  if (!isTracingMode(m)) throw new Error(`BENCH_TRACING: unknown mode ${m} (known: ${TRACING_MODES.join(", ")})`);
  return m;
}

interface Build {
  readonly root: string;
  readonly invoke: () => Promise<unknown>;
  readonly stop: () => Promise<void>;
  readonly rps: number[];
}

/** Starts the build's own mesh (its dist/, its services) and warms it. */
async function startBuild(root: string, label: string): Promise<Build> {
  const dist = path.resolve(root, "dist");
  if (!fs.existsSync(path.join(dist, "scripts/local-mesh.js"))) throw new Error(`${root}: no dist/ (build it first)`);
  const { LocalMesh, REPO_ROOT } = await import(path.join(dist, "scripts/local-mesh.js"));
  const { createGrpcJsClient } = await import(path.join(dist, "client/grpc-js.js"));
  const { readFunctionDir } = await import(path.join(dist, "client/function-dir.js"));
  const { GatewayService } = await import(path.join(dist, "gen/faas/gateway/v1/gateway_pb.js"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faas-bench-builds-${label}-`));
  const sink: OtlpSink = await startOtlpSink();
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn", ...tracingModeEnv(TRACING, sink.endpoint) } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const stop = async () => {
    gateway.close();
    await mesh.stop();
    sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await gateway.deployFunction(readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
    const payload = new TextEncoder().encode("{}");
    const invoke = () => gateway.invoke({ function: "noop", payload }, { timeoutMs: 120_000 });
    for (let i = 0; i < 1500; i++) await invoke();
    return { root, invoke, stop, rps: [] };
  } catch (err) {
    await stop();
    throw err;
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function main() {
  const [rootA, rootB] = process.argv.slice(2);
  if (!rootA || !rootB) throw new Error("usage: node dist/bench/builds.js ROOT_A ROOT_B");
  const a = await startBuild(rootA, "a");
  let b: Build | undefined;
  try {
    b = await startBuild(rootB, "b");
    const builds = [a, b];
    for (const x of builds) await closedLoop(x.invoke, CLIENTS, WARMUP_S);
    const orders = williamsOrders(2);
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of orders[r % orders.length]!) {
        builds[i]!.rps.push((await closedLoop(builds[i]!.invoke, CLIENTS, SLICE_S)).rps);
        await new Promise((res) => setTimeout(res, GAP_S * 1000));
      }
      console.error(`round ${r + 1}/${ROUNDS}: A ${a.rps[r]!.toFixed(0)}, B ${b.rps[r]!.toFixed(0)} rps`);
    }
    const ratios = a.rps.map((x, i) => b!.rps[i]! / x);
    const round3 = (x: number) => Number(x.toFixed(3));
    console.log(
      JSON.stringify(
        {
          a: path.resolve(rootA),
          b: path.resolve(rootB),
          b_vs_a: { median: round3(quantile(ratios, 0.5)), p25: round3(quantile(ratios, 0.25)), p75: round3(quantile(ratios, 0.75)) },
          median_rps: { a: Math.round(quantile(a.rps, 0.5)), b: Math.round(quantile(b.rps, 0.5)) },
          rounds_rps: { a: a.rps.map(Math.round), b: b.rps.map(Math.round) },
          tracing: TRACING,
          samples: { rounds: ROUNDS, slice_seconds: SLICE_S, gap_seconds: GAP_S, clients: CLIENTS, warmup_load_seconds: WARMUP_S },
          machine: { cpus: os.cpus().length, node: process.version },
        },
        null,
        2,
      ),
    );
  } finally {
    await a.stop();
    await b?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
