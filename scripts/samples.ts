// `npm run samples`: starts the mesh on this machine, deploys the bundled sample
// functions, invokes each cold then warm through the gateway (a standard gRPC client), and prints what
// happened, from the answers and from trace-store. `--keep-running` leaves the mesh up afterwards.
import * as path from "node:path";
import { createGrpcJsClient } from "../client/grpc-js.js";
import { readFunctionDir } from "../client/function-dir.js";
import { StartKind } from "../gen/faas/common/v1/common_pb.js";
import { GatewayService } from "../gen/faas/gateway/v1/gateway_pb.js";
import { TraceStoreService } from "../gen/faas/tracestore/v1/trace_store_pb.js";
import { LocalMesh, REPO_ROOT } from "./local-mesh.js";

const SAMPLES: Array<{ dir: string; payload: unknown }> = [
  { dir: "functions/hello", payload: { name: "demo" } },
  { dir: "functions/markdown", payload: { markdown: "# Title\n\nSome *emphasis* and a [link](https://example.org)." } },
  { dir: "functions/noop", payload: {} },
];
const WARM_CALLS = 20;

const ms = (us: bigint | number) => (Number(us) / 1000).toFixed(1);

async function main() {
  const keep = process.argv.includes("--keep-running");
  const dir = path.join(REPO_ROOT, ".faas/samples");
  console.log("starting the mesh (nats-server, trace-store, node-manager, balancer, gateway, zygote-builder) ...");
  const mesh = await LocalMesh.start({
    dir,
    natsUrl: process.env.NATS_URL,
    ports: { gateway: 7100, balancer: 7101, "node-manager": 7102, "zygote-builder": 7103, "trace-store": 7104 },
    nodeId: "samples",
  });
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const traceStore = createGrpcJsClient(TraceStoreService, mesh.url("trace-store"));
  const since = BigInt(Date.now()) * 1000n;
  try {
    const rows: string[] = [];
    for (const s of SAMPLES) {
      const req = readFunctionDir(path.join(REPO_ROOT, s.dir));
      const t0 = Date.now();
      const deployed = await gateway.deployFunction(req, { timeoutMs: 600_000 });
      const name = deployed.message.spec!.name;
      console.log(`deployed ${name} (${deployed.message.spec!.digest.slice(0, 19)}...) on ${deployed.message.nodes.join(", ")} in ${Date.now() - t0} ms`);
      const payload = new TextEncoder().encode(JSON.stringify(s.payload));
      const first = (await gateway.invoke({ function: name, payload }, { timeoutMs: 120_000 })).message;
      const warm: number[] = [];
      let warmKinds = 0;
      for (let i = 0; i < WARM_CALLS; i++) {
        const r = (await gateway.invoke({ function: name, payload }, { timeoutMs: 60_000 })).message;
        warm.push(Number(r.timings!.totalUs));
        if (r.startKind === StartKind.WARM) warmKinds++;
      }
      warm.sort((a, b) => a - b);
      const t = first.timings!;
      const output = new TextDecoder().decode(first.output);
      rows.push(
        `| ${name} | ${StartKind[first.startKind]} ${ms(t.totalUs)} ms (startup ${ms(t.startupUs)}, init ${ms(t.initUs)}, exec ${ms(t.execUs)}) | ${warmKinds}/${WARM_CALLS} WARM, p50 ${ms(warm[Math.floor(warm.length / 2)])} ms | ${output.length > 60 ? output.slice(0, 57) + "..." : output} |`,
      );
    }
    console.log("\n| function | first call | next calls | first result |\n|---|---|---|---|\n" + rows.join("\n"));

    // trace-store gets the records in batches: wait until all of this run's are there.
    const expected = SAMPLES.length * (WARM_CALLS + 1);
    const deadline = Date.now() + 30_000;
    let summary = (await traceStore.summarize({ filter: { sinceUnixUs: since } })).message;
    while (Number(summary.invocations) < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      summary = (await traceStore.summarize({ filter: { sinceUnixUs: since } })).message;
    }
    console.log(`\ntrace-store: ${summary.invocations} invocations, ${summary.errors} errors, ${summary.coldStarts} cold starts, ${summary.containersCreated} containers created, ${summary.memoryMbSeconds.toFixed(1)} MB·s held`);
    console.log("| start kind | count | p50 ms | p95 ms | p99 ms | mean startup ms | mean init ms | mean exec ms |\n|---|---|---|---|---|---|---|---|");
    for (const l of summary.latency) {
      const kind = l.startKind === StartKind.UNSPECIFIED ? "all" : StartKind[l.startKind];
      console.log(`| ${kind} | ${l.count} | ${ms(l.p50Us)} | ${ms(l.p95Us)} | ${ms(l.p99Us)} | ${ms(l.meanStartupUs)} | ${ms(l.meanInitUs)} | ${ms(l.meanExecUs)} |`);
    }
    if (keep) {
      console.log(`\nmesh running: gateway ${mesh.gatewayUrl} (gRPC, gRPC-Web, Connect). Logs in ${path.join(dir, "logs")}. Ctrl-C stops it.`);
      console.log(`tenant "${mesh.tenant}" (owns the samples):\n  export FAAS_API_KEY=${mesh.apiKey}\noperator key (AdminService):\n  export OPERATOR_KEY=${mesh.operatorKey}`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    }
  } finally {
    gateway.close();
    traceStore.close();
    await mesh.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
