// `npm run bench`: what the mesh costs, against a reference measured in the same run (a plain
// `docker run --rm` of the same base image running `node -e 0`). Prints JSON; not a test.
//   docker_run_ms_p50   the reference
//   cold_start_ms_p50   first invocation of a deployed no-op function, end to end through the mesh
//   warm_ms_p50/p99     no-op invocations, sequential, end to end, from @grpc/grpc-js (an independent client)
//   warm_lean_client_ms_p50/p99  the same from the platform's own lean unary client (common/grpc-unary-client.ts):
//                       the difference is the client's own cost, not the mesh's
//   throughput_rps      warm no-op invocations per second from 64 concurrent clients for 10 s
// Settings: BENCH_COLD_RUNS (10), BENCH_WARM_CALLS (3000), BENCH_WARMUP_CALLS (2000: unmeasured calls first,
// until the JIT of every process on the path has settled), BENCH_THROUGHPUT_S (10), BENCH_CLIENTS (64).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { GrpcUnaryClient } from "../common/grpc-unary-client.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { InvocationStatus, StartKind } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { closedLoopRps } from "./throughput.js";

const run = promisify(execFile);
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const COLD_RUNS = env("BENCH_COLD_RUNS", 10);
const WARM_CALLS = env("BENCH_WARM_CALLS", 3000);
const WARMUP_CALLS = env("BENCH_WARMUP_CALLS", 2000);
const THROUGHPUT_S = env("BENCH_THROUGHPUT_S", 10);
const CLIENTS = env("BENCH_CLIENTS", 64);
const BASE_IMAGE = process.env.BASE_IMAGE ?? "node:20-bookworm-slim";

const percentile = (values: number[], p: number) => nearestRank(sortedCopy(values), p);
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function dockerRunMs(): Promise<number[]> {
  const out: number[] = [];
  await run("docker", ["run", "--rm", "--network", "none", BASE_IMAGE, "node", "-e", "0"]); // warm the engine's caches
  for (let i = 0; i < COLD_RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await run("docker", ["run", "--rm", "--network", "none", BASE_IMAGE, "node", "-e", "0"]);
    out.push(elapsedMs(t0));
  }
  return out;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-bench-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" } } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  try {
    const noop = path.join(REPO_ROOT, "functions/noop");
    const payload = new TextEncoder().encode("{}");
    const invoke = async (fn: string) => {
      const r = (await gateway.invoke({ function: fn, payload }, { timeoutMs: 120_000 })).message;
      if (r.status !== InvocationStatus.OK) throw new Error(`${fn}: ${InvocationStatus[r.status]} ${r.error?.message}`);
      return r;
    };

    const dockerRun = await dockerRunMs();

    // Cold: one distinct function per sample (deployed first, so image builds are not measured).
    for (let i = 0; i < COLD_RUNS; i++) await gateway.deployFunction(readFunctionDir(noop, { name: `noop-cold-${i}` }), { timeoutMs: 600_000 });
    const cold: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const r = await invoke(`noop-cold-${i}`);
      cold.push(elapsedMs(t0));
      if (r.startKind !== StartKind.COLD) throw new Error(`noop-cold-${i} did not start cold`);
    }
    for (let i = 0; i < COLD_RUNS; i++) await gateway.deleteFunction({ name: `noop-cold-${i}` });

    await gateway.deployFunction(readFunctionDir(noop), { timeoutMs: 600_000 });
    for (let i = 0; i < WARMUP_CALLS; i++) await invoke("noop");
    const warm: number[] = [];
    for (let i = 0; i < WARM_CALLS; i++) {
      const t0 = process.hrtime.bigint();
      await invoke("noop");
      warm.push(elapsedMs(t0));
    }

    const lean = new GrpcUnaryClient(mesh.gatewayUrl);
    for (let i = 0; i < WARMUP_CALLS; i++) await lean.call(GatewayService.method.invoke, { function: "noop", payload }, { headers: mesh.auth });
    const warmLean: number[] = [];
    for (let i = 0; i < WARM_CALLS; i++) {
      const t0 = process.hrtime.bigint();
      const r = await lean.call(GatewayService.method.invoke, { function: "noop", payload }, { headers: mesh.auth });
      warmLean.push(elapsedMs(t0));
      if (r.status !== InvocationStatus.OK) throw new Error(`noop: ${InvocationStatus[r.status]}`);
    }
    lean.close();

    const throughput = await closedLoopRps(() => invoke("noop"), CLIENTS, THROUGHPUT_S);

    const dockerP50 = percentile(dockerRun, 50);
    const coldP50 = percentile(cold, 50);
    console.log(
      JSON.stringify(
        {
          docker_run_ms_p50: round(dockerP50, 1),
          cold_start_ms_p50: round(coldP50, 1),
          cold_vs_docker_run: round(coldP50 / dockerP50, 3),
          warm_ms_p50: round(percentile(warm, 50), 3),
          warm_ms_p99: round(percentile(warm, 99), 3),
          warm_lean_client_ms_p50: round(percentile(warmLean, 50), 3),
          warm_lean_client_ms_p99: round(percentile(warmLean, 99), 3),
          throughput_rps: Math.round(throughput),
          samples: { cold: COLD_RUNS, warm: WARM_CALLS, warmup: WARMUP_CALLS, throughput_seconds: THROUGHPUT_S, clients: CLIENTS },
          machine: { cpus: os.cpus().length, node: process.version },
        },
        null,
        2,
      ),
    );
  } finally {
    gateway.close();
    await mesh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
