// Dev aid: CPU each process on the warm path spends per invocation of the no-op function, from
// /proc/<pid>/stat (services, the container's sidecar and worker, and this client), with one invocation
// at a time and with 64 at a time. `npm run bench:cpu`; prints JSON lines. Linux only.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { GrpcUnaryClient } from "../common/grpc-unary-client.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";

const SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 8);

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

/** The sidecar's and the worker's host pids, from `docker top` of the node's containers. */
function containerPids(nodeId: string): Record<string, number> {
  const out: Record<string, number> = {};
  const ids = execFileSync("docker", ["ps", "-q", "--filter", `name=faas-${nodeId}`]).toString().trim().split("\n").filter(Boolean);
  for (const id of ids) {
    for (const line of execFileSync("docker", ["top", id, "-eo", "pid,args"]).toString().trim().split("\n").slice(1)) {
      const [pid, ...args] = line.trim().split(/\s+/);
      const cmd = args.join(" ");
      if (cmd.includes("worker")) out.worker = Number(pid);
      else if (cmd.includes("sidecar")) out.sidecar = Number(pid);
    }
  }
  return out;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-cpu-"));
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn" } } });
  const gateway = new GrpcUnaryClient(mesh.gatewayUrl);
  try {
    await gateway.call(GatewayService.method.deployFunction, readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
    const payload = new TextEncoder().encode("{}");
    const invoke = () => gateway.call(GatewayService.method.invoke, { function: "noop", payload });
    for (let i = 0; i < 2000; i++) await invoke();
    const pids: Record<string, number> = { ...Object.fromEntries([...mesh.services].map(([name, s]) => [name, s.child.pid!])), ...containerPids(mesh.nodeId), client: process.pid };
    for (const concurrency of [1, 64]) {
      const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
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
      const perInvocation = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, Number(((cpuMs(pid) - before[name]) / n).toFixed(3))]));
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
