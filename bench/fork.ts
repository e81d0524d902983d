// `npm run bench:fork`: what a HELPER start costs against a COLD one, measured in the same run. Prints JSON.
//   cold_invoke_ms_p50     first invocation of a deployed function on a node with no zygote (keepalive mesh)
//   helper_invoke_ms_p50   invocation served by a zygote forked for it (pagurus mesh), client to result
//   helper_startup_ms_p50  the record's startup + init of those HELPER invocations (lending: code injected,
//                          limit resized, template handed over, module imported)
//   helper_vs_cold         helper_invoke_ms_p50 / cold_invoke_ms_p50 (target <= 0.05)
// Two functions with the same pinned package take turns: each one's container turns into a zygote after
// the (short) zygote time and is lent to the other. Settings: BENCH_FORK_RUNS (20), BENCH_COLD_RUNS (10).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient, type GrpcJsClient } from "../client/grpc-js.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { InvocationStatus, StartKind } from "../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../gen/faas/events/v1/events_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { NodeManagerService } from "../gen/faas/nodemanager/v1/node_manager_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const FORK_RUNS = env("BENCH_FORK_RUNS", 20);
const COLD_RUNS = env("BENCH_COLD_RUNS", 10);
const FUNCTIONS = path.join(REPO_ROOT, "bench/functions");

const p50 = (values: number[]) => nearestRank(sortedCopy(values), 50);
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const payload = new TextEncoder().encode("{}");

async function withMesh<T>(nodeManagerEnv: Record<string, string>, body: (mesh: LocalMesh, gateway: GrpcJsClient<typeof GatewayService>) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-bench-fork-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" }, "node-manager": nodeManagerEnv } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl);
  try {
    return await body(mesh, gateway);
  } finally {
    gateway.close();
    await mesh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function invoke(gateway: GrpcJsClient<typeof GatewayService>, fn: string) {
  const t0 = process.hrtime.bigint();
  const r = (await gateway.invoke({ function: fn, payload }, { timeoutMs: 120_000 })).message;
  const ms = elapsedMs(t0);
  if (r.status !== InvocationStatus.OK) throw new Error(`${fn}: ${InvocationStatus[r.status]} ${r.error?.message}`);
  return { r, ms };
}

async function waitForZygote(nm: GrpcJsClient<typeof NodeManagerService>, containerId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = (await nm.listContainers({})).message.containers.find((x) => x.containerId === containerId);
    if (c?.role === ContainerRole.ZYGOTE && c.state === ContainerState.IDLE) return;
    if (Date.now() > deadline) throw new Error(`container ${containerId} did not become a zygote`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main() {
  const cold = await withMesh({ NODE_POLICY: "keepalive" }, async (_mesh, gateway) => {
    for (let i = 0; i < COLD_RUNS; i++) await gateway.deployFunction(readFunctionDir(path.join(FUNCTIONS, "fork-a"), { name: `fork-cold-${i}` }), { timeoutMs: 600_000 });
    const out: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      const { r, ms } = await invoke(gateway, `fork-cold-${i}`);
      if (r.startKind !== StartKind.COLD) throw new Error(`fork-cold-${i} started ${StartKind[r.startKind]}`);
      out.push(ms);
    }
    return out;
  });

  const helper = await withMesh({ NODE_POLICY: "pagurus", ZYGOTE_TIME_DEFAULT_MS: "1000", REAPER_INTERVAL_MS: "20", IDLE_AFTER_MS: "0" }, async (mesh, gateway) => {
    for (const f of ["fork-a", "fork-b"]) await gateway.deployFunction(readFunctionDir(path.join(FUNCTIONS, f)), { timeoutMs: 600_000 });
    const nm = createGrpcJsClient(NodeManagerService, mesh.url("node-manager"));
    const invokeMs: number[] = [];
    const startupMs: number[] = [];
    try {
      let { r } = await invoke(gateway, "fork-a");
      for (let i = 0; i < FORK_RUNS; i++) {
        await waitForZygote(nm, r.containerId);
        const next = await invoke(gateway, i % 2 === 0 ? "fork-b" : "fork-a");
        if (next.r.startKind !== StartKind.HELPER) throw new Error(`run ${i} started ${StartKind[next.r.startKind]}, not HELPER`);
        invokeMs.push(next.ms);
        startupMs.push(Number(next.r.timings!.startupUs + next.r.timings!.initUs) / 1000);
        r = next.r;
      }
    } finally {
      nm.close();
    }
    return { invokeMs, startupMs };
  });

  const coldP50 = p50(cold);
  const helperP50 = p50(helper.invokeMs);
  console.log(
    JSON.stringify(
      {
        cold_invoke_ms_p50: round(coldP50, 1),
        helper_invoke_ms_p50: round(helperP50, 2),
        helper_startup_ms_p50: round(p50(helper.startupMs), 2),
        helper_vs_cold: round(helperP50 / coldP50, 4),
        samples: { cold: COLD_RUNS, helper: FORK_RUNS },
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
