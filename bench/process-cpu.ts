// Dev aid: CPU each process on the warm path spends per invocation of the no-op function, from
// /proc/<pid>/stat (services, the container's sidecar and worker, and this client), with one invocation
// at a time and with 64 at a time. `npm run bench:cpu`; prints JSON lines. Linux only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { GrpcUnaryClient } from "../common/grpc-unary-client.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { cpuSince, meshPids } from "./process-stat.js";

const SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 8);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-cpu-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" } } });
  const gateway = new GrpcUnaryClient(mesh.gatewayUrl, { headers: mesh.auth });
  try {
    await gateway.call(GatewayService.method.deployFunction, readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
    const payload = new TextEncoder().encode("{}");
    const invoke = () => gateway.call(GatewayService.method.invoke, { function: "noop", payload });
    for (let i = 0; i < 2000; i++) await invoke();
    const pids: Record<string, number> = { ...meshPids(mesh), client: process.pid };
    for (const concurrency of [1, 64]) {
      const spent = cpuSince(pids);
      let n = 0;
      const started = Date.now();
      const until = started + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (Date.now() < until) {
            await invoke();
            n++;
          }
        }),
      );
      const elapsed = Date.now() - started;
      const perInvocation = Object.fromEntries(Object.entries(spent()).map(([name, ms]) => [name, Number((ms / n).toFixed(3))]));
      console.log(JSON.stringify({ concurrency, invocations: n, ms_per_invocation: Number((elapsed / n).toFixed(3)), cpu_ms_per_invocation: perInvocation }));
    }
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
