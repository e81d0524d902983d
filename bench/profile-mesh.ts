// Dev aid: CPU profiles of every service process under the throughput load of `npm run bench`.
// `node dist/bench/profile-mesh.js [seconds]` writes .cpuprofile files and prints the top self-time frames.
// PROFILE_TRACING=unsampled|sampled|all (bench/otlp-sink.ts): with tracing on, exported to a sink in this process.
// PROFILE_SIDECAR=1: the function container's sidecar too. It runs in a container without a shell or a
// network, so its inspector is opened with SIGUSR1 from the host and driven from a `docker exec`'d node
// inside the container (CDP over the container's loopback), the profile coming back on that process's stdout.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { isTracingMode, startOtlpSink, TRACING_MODES, tracingModeEnv } from "./otlp-sink.js";

const seconds = Number(process.argv[2] ?? 8);
const sequential = process.argv[3] === "seq";
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-prof-"));

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
function top(file: string, n = 25): string[] {
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${f.lineNumber}`;
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const idle = self.get("(idle) :-1") ?? 0;
  return [`busy ${((total - idle) / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms`, ...[...self.entries()].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`)];
}

/** PROFILE_TRACING's mode and, unless it is off, a sink the mesh exports to. */
async function tracingEnv(): Promise<{ env: Record<string, string>; close: () => void }> {
  const mode = process.env.PROFILE_TRACING ?? "off";
  if (!isTracingMode(mode)) throw new Error(`PROFILE_TRACING must be one of ${TRACING_MODES.join(", ")}, got ${mode}`);
  if (mode === "off") return { env: tracingModeEnv(mode, ""), close: () => {} };
  const sink = await startOtlpSink();
  return { env: tracingModeEnv(mode, sink.endpoint), close: sink.close };
}

async function main() {
  const names = ["gateway", "balancer", "node-manager"] as const;
  const tracing = await tracingEnv();
  const nodeArgs = Object.fromEntries(names.map((s) => [s, ["--cpu-prof", `--cpu-prof-dir=${path.join(outDir, s)}`]]));
  const mesh = await LocalMesh.start({ dir: outDir, env: { all: { LOG_LEVEL: "warn", ...tracing.env } }, nodeArgs });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const payload = new TextEncoder().encode("{}");
  await gateway.deployFunction(readFunctionDir(path.join(REPO_ROOT, "functions/noop")), { timeoutMs: 600_000 });
  for (let i = 0; i < 500; i++) await gateway.invoke({ function: "noop", payload });
  const sidecarProfile = process.env.PROFILE_SIDECAR === "1" ? profileSidecar(seconds + 2, path.join(outDir, "sidecar")) : undefined;
  if (sidecarProfile) await new Promise((resolve) => setTimeout(resolve, 1000));
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: sequential ? 1 : 64 }, async () => {
      while (Date.now() < until) {
        await gateway.invoke({ function: "noop", payload });
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  await sidecarProfile;
  console.log(`${done} invocations, ${(done / ((Date.now() - t0) / 1000)).toFixed(0)}/s; client cpu ${((cpu.user + cpu.system) / 1000 / done).toFixed(3)} ms/invocation`);
  gateway.close();
  await mesh.stop();
  tracing.close();
  for (const s of [...names, "sidecar"]) {
    const dir = path.join(outDir, s);
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      console.log(`\n== ${s}`);
      console.log(top(path.join(dir, f)).join("\n"));
    }
  }
  console.log(`\nprofiles in ${outDir}`);
}
/** CDP client run by `node -e` inside the container: profiles the sidecar for SECONDS, prints the profile. */
const CDP_PROFILER = `
(async () => {
  const [target] = await (await fetch("http://127.0.0.1:9229/json/list")).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  let id = 0;
  const pending = new Map();
  const send = (method, params = {}) => new Promise((resolve) => { pending.set(++id, resolve); ws.send(JSON.stringify({ id, method, params })); });
  ws.onmessage = (e) => { const m = JSON.parse(e.data); pending.get(m.id)?.(m.result); };
  await new Promise((resolve) => (ws.onopen = resolve));
  await send("Profiler.enable");
  await send("Profiler.start");
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const { profile } = await send("Profiler.stop");
  ws.close();
  process.stdout.write(JSON.stringify(profile), () => process.exit(0));
})();`;

/** Profiles the sidecar of the one function container running (the bench's no-op) into dir. */
async function profileSidecar(seconds: number, dir: string): Promise<void> {
  const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
  const container = docker("ps", "-q").split("\n").find((c) => c && docker("inspect", "-f", "{{.Path}} {{.Args}}", c).includes("sidecar.js"));
  if (!container) throw new Error("PROFILE_SIDECAR: no sidecar container is running");
  process.kill(Number(docker("inspect", "-f", "{{.State.Pid}}", container)), "SIGUSR1");
  fs.mkdirSync(dir, { recursive: true });
  const out = fs.openSync(path.join(dir, "sidecar.cpuprofile"), "w");
  const child = spawn("docker", ["exec", container, "node", "--experimental-websocket", "-e", CDP_PROFILER.replace("SECONDS", String(seconds))], { stdio: ["ignore", out, "inherit"] });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  fs.closeSync(out);
  if (code !== 0) throw new Error(`PROFILE_SIDECAR: the profiler in the container exited with ${code}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
