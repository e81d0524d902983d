// `npm run bench:fork`: what a HELPER start costs against a COLD one, measured in the same run. Prints JSON.
//   cold_invoke_ms_p50     first invocation of a deployed function with no zygote to lend, client to result
//   helper_invoke_ms_p50   first invocation of a deployed function served by a zygote forked for it
//   helper_startup_ms_p50  the record's startup + init of those HELPER invocations (lending: code injected,
//                          limit resized, template handed over, module imported)
//   helper_vs_cold         helper_invoke_ms_p50 / cold_invoke_ms_p50 (target <= 0.05)
//   warm_invoke_ms_p50     the renter invoked again (WARM) after the same idle as the lender had: the
//                          floor of a first call after idling, through all hops, that a HELPER start adds to
// All in one pagurus mesh with a short zygote time, the other settings at their defaults. Settings:
// BENCH_FORK_RUNS (10 pairs), BENCH_VERBOSE (each HELPER's timings and the sidecar's fork log line).
import { spawnSync } from "node:child_process";
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
const RUNS = env("BENCH_FORK_RUNS", 10);
const FUNCTIONS = path.join(REPO_ROOT, "bench/functions");
/** How long a lender's executor is idle before it becomes a zygote. */
const ZYGOTE_TIME_MS = 1000;

const p50 = (values: number[]) => nearestRank(sortedCopy(values), 50);
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const payload = new TextEncoder().encode("{}");

async function withMesh<T>(nodeManagerEnv: Record<string, string>, body: (mesh: LocalMesh, gateway: GrpcJsClient<typeof GatewayService>) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-bench-fork-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" }, "node-manager": nodeManagerEnv } });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  let ok = false;
  try {
    const out = await body(mesh, gateway);
    ok = true;
    return out;
  } finally {
    gateway.close();
    await mesh.stop();
    if (ok && !process.env.BENCH_KEEP_LOGS) fs.rmSync(dir, { recursive: true, force: true });
    else console.error(`logs kept in ${dir}`);
    if (ok && process.env.BENCH_KEEP_LOGS) console.error(`logs in ${dir}`);
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
    if (Date.now() > deadline) throw new Error(`container ${containerId} did not become a zygote (it is ${c ? `${ContainerRole[c.role]} ${ContainerState[c.state]}` : "gone"})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The sidecar's own account of the fork (its log line), for BENCH_VERBOSE. */
function sidecarForkLog(containerId: string): string {
  const id = spawnSync("docker", ["ps", "-aq", "--filter", `label=faas.container=${containerId}`], { encoding: "utf8" }).stdout.trim();
  const out = spawnSync("docker", ["logs", id], { encoding: "utf8" });
  return (out.stdout + out.stderr).split("\n").filter((l) => l.includes("forked the template")).join("\n");
}

async function main() {
  // Each sample: a lender function starts COLD, its executor turns into a zygote after the zygote time, and
  // a renter function (same pinned package, never run before) is served by forking it. A helper is not
  // turned back into a zygote (DESIGN.md: helpers end at keep-alive), so every pair is new.
  const { cold, helperInvoke, helperStartup, warm } = await withMesh({ LOG_LEVEL: process.env.BENCH_NODE_LOG_LEVEL ?? "warn", NODE_POLICY: "pagurus", ZYGOTE_TIME_DEFAULT_MS: String(ZYGOTE_TIME_MS), REAPER_INTERVAL_MS: "200" }, async (mesh, gateway) => {
    for (let i = 0; i < RUNS; i++) {
      await gateway.deployFunction(readFunctionDir(path.join(FUNCTIONS, "fork-a"), { name: `fork-lender-${i}` }), { timeoutMs: 600_000 });
      await gateway.deployFunction(readFunctionDir(path.join(FUNCTIONS, "fork-b"), { name: `fork-renter-${i}` }), { timeoutMs: 600_000 });
    }
    const nm = createGrpcJsClient(NodeManagerService, mesh.url("node-manager"));
    const out = { cold: [] as number[], helperInvoke: [] as number[], helperStartup: [] as number[], warm: [] as number[] };
    try {
      for (let i = 0; i < RUNS; i++) {
        const lender = await invoke(gateway, `fork-lender-${i}`);
        if (lender.r.startKind !== StartKind.COLD) throw new Error(`fork-lender-${i} started ${StartKind[lender.r.startKind]}, not COLD`);
        out.cold.push(lender.ms);
        await waitForZygote(nm, lender.r.containerId);
        const renter = await invoke(gateway, `fork-renter-${i}`);
        if (renter.r.startKind !== StartKind.HELPER) throw new Error(`fork-renter-${i} started ${StartKind[renter.r.startKind]}, not HELPER`);
        out.helperInvoke.push(renter.ms);
        // The reference a HELPER start adds to: the same function WARM after the same idle as the lender had.
        await new Promise((r) => setTimeout(r, ZYGOTE_TIME_MS));
        const warm = await invoke(gateway, `fork-renter-${i}`);
        if (warm.r.startKind !== StartKind.WARM) throw new Error(`fork-renter-${i} started ${StartKind[warm.r.startKind]} the second time, not WARM`);
        out.warm.push(warm.ms);
        out.helperStartup.push(Number(renter.r.timings!.startupUs + renter.r.timings!.initUs) / 1000);
        const tm = renter.r.timings!;
        if (process.env.BENCH_VERBOSE) {
          console.error(JSON.stringify({ clientMs: renter.ms, queuedUs: Number(tm.queuedUs), startupUs: Number(tm.startupUs), initUs: Number(tm.initUs), execUs: Number(tm.execUs), totalUs: Number(tm.totalUs) }));
          console.error(sidecarForkLog(renter.r.containerId));
        }
      }
    } finally {
      nm.close();
    }
    return out;
  });

  const coldP50 = p50(cold);
  const helperP50 = p50(helperInvoke);
  console.log(
    JSON.stringify(
      {
        cold_invoke_ms_p50: round(coldP50, 1),
        helper_invoke_ms_p50: round(helperP50, 2),
        helper_startup_ms_p50: round(p50(helperStartup), 2),
        helper_vs_cold: round(helperP50 / coldP50, 4),
        warm_invoke_ms_p50: round(p50(warm), 2),
        samples: RUNS,
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
