// Dev aid: sequential latency of each hop of a warm invocation, calling each service directly.
// `node dist/bench/hops.js`; HOPS_TRACING=off|unsampled|sampled|all (bench/otlp-sink.ts, default off:
// no SDK) puts the mesh in a tracing mode, exporting to a sink in this process.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFunctionDir } from "../client/function-dir.js";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { GrpcUnaryClient } from "../common/grpc-unary-client.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { BalancerService } from "../gen/faas/balancer/v1/balancer_pb.js";
import { NodeManagerService } from "../gen/faas/nodemanager/v1/node_manager_pb.js";
import { LocalMesh, REPO_ROOT } from "../scripts/local-mesh.js";
import { isTracingMode, startOtlpSink, tracingModeEnv } from "./otlp-sink.js";

async function time(label: string, n: number, f: () => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await f();
  const xs: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await f();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const c = process.cpuUsage(c0);
  const sorted = sortedCopy(xs);
  console.log(`${label.padEnd(28)} p50 ${nearestRank(sorted, 50).toFixed(3)} ms  p99 ${nearestRank(sorted, 99).toFixed(3)} ms  client cpu ${((c.user + c.system) / 1000 / n).toFixed(3)} ms`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-hops-"));
  const mode = process.env.HOPS_TRACING ?? "off";
  if (!isTracingMode(mode)) throw new Error(`HOPS_TRACING: unknown mode ${mode}`);
  const sink = await startOtlpSink();
  const mesh = await LocalMesh.start({ dir, env: { all: { LOG_LEVEL: "warn", ...tracingModeEnv(mode, sink.endpoint) } } });
  console.log(`tracing: ${mode}`);
  const gw = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const spec = readFunctionDir(path.join(REPO_ROOT, "functions/noop"));
  const deployed = (await gw.deployFunction(spec, { timeoutMs: 600_000 })).message;
  const payload = new TextEncoder().encode("{}");
  await gw.invoke({ function: "noop", payload });
  const fnRef = { name: mesh.qualified("noop"), digest: deployed.spec!.digest, limits: deployed.spec!.limits };
  const lean = (url: string) => new GrpcUnaryClient(url);
  const gwLean = lean(mesh.gatewayUrl);
  const bal = lean(mesh.url("balancer"));
  const nm = lean(mesh.url("node-manager"));
  let i = 0;
  await time("gateway (grpc-js)", 2000, () => gw.invoke({ function: "noop", payload }));
  await time("gateway (lean)", 2000, () => gwLean.call(GatewayService.method.invoke, { function: "noop", payload }, { headers: mesh.auth }));
  await time("gateway getFunction (grpc-js)", 2000, () => gw.getFunction({ name: "noop" }));
  await time("gateway getFunction (lean)", 2000, () => gwLean.call(GatewayService.method.getFunction, { name: "noop" }, { headers: mesh.auth }));
  await time("gateway unknown fn (lean)", 2000, () => gwLean.call(GatewayService.method.invoke, { function: "nope", payload }, { headers: mesh.auth }).catch(() => {}));
  await time("balancer unknown fn (lean)", 2000, () => bal.call(BalancerService.method.invoke, { invocationId: `b${i++}`, function: { ...fnRef, name: "nope" }, payload }).catch(() => {}));
  await time("balancer (lean)", 2000, () => bal.call(BalancerService.method.invoke, { invocationId: `b${i++}`, function: fnRef, payload }));
  await time("node-manager (lean)", 2000, () => nm.call(NodeManagerService.method.invoke, { invocationId: `n${i++}`, function: fnRef, payload }));
  gw.close();
  for (const c of [gwLean, bal, nm]) c.close();
  await mesh.stop();
  sink.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
