// With FAAS_INTERNAL_SECRET set, the internal services answer only callers that present it: the mesh's
// own calls carry it (an invocation through the gateway works end to end), anything else on the network
// is UNAUTHENTICATED over gRPC and Connect alike, while /healthz and /metrics stay open for probes.
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { createGrpcJsClient, GrpcCallError, type GrpcJsClient } from "../../client/grpc-js.js";
import type { ServiceName } from "../../scripts/local-mesh.js";
import { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { ZygoteBuilderService } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { INTERNAL_SECRET_HEADER } from "../../common/internal-auth.js";
import { deployFixture, json, parse, useMesh } from "../helpers/test-mesh.js";

const SECRET = "s3cret-of-this-test-mesh-0123456789";
const ctx = useMesh(test, { env: { all: { FAAS_INTERNAL_SECRET: SECRET } } });

async function codeOf(call: Promise<unknown>): Promise<grpc.status> {
  try {
    await call;
    return grpc.status.OK;
  } catch (err) {
    if (err instanceof GrpcCallError) return err.code;
    throw err;
  }
}

test.serial("the mesh's own calls carry the secret: an invocation through the gateway works", async (t) => {
  await deployFixture(ctx, "echo");
  const { message } = await ctx.gateway.invoke({ function: "echo", payload: json({ n: 1 }) }, { timeoutMs: 120_000 });
  t.is(message.status, InvocationStatus.OK);
  t.deepEqual(parse(message.output).params, { n: 1 });
});

test.serial("a gRPC call to an internal service without the secret, or with a wrong one, is UNAUTHENTICATED", async (t) => {
  const calls: Array<[string, (metadata: Record<string, string>) => Promise<unknown>]> = [
    ["balancer", (metadata) => withClient(BalancerService, "balancer", metadata, (c) => c.listNodes({}))],
    ["node-manager", (metadata) => withClient(NodeManagerService, "node-manager", metadata, (c) => c.listContainers({}))],
    ["trace-store", (metadata) => withClient(TraceStoreService, "trace-store", metadata, (c) => c.queryInvocations({}))],
    ["zygote-builder", (metadata) => withClient(ZygoteBuilderService, "zygote-builder", metadata, (c) => c.getPlan({}))],
  ];
  for (const [service, call] of calls) {
    t.is(await codeOf(call({})), grpc.status.UNAUTHENTICATED, `${service} without the secret`);
    t.is(await codeOf(call({ [INTERNAL_SECRET_HEADER]: "not-the-secret-at-all" })), grpc.status.UNAUTHENTICATED, `${service} with a wrong secret`);
    t.is(await codeOf(call({ [INTERNAL_SECRET_HEADER]: SECRET })), grpc.status.OK, `${service} with the secret`);
  }
});

test.serial("Connect JSON without the secret is 401 unauthenticated; health and metrics need none", async (t) => {
  const url = `${ctx.mesh.url("balancer")}/faas.balancer.v1.BalancerService/ListNodes`;
  const refused = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  t.is(refused.status, 401);
  t.is(((await refused.json()) as { code: string }).code, "unauthenticated");
  const allowed = await fetch(url, { method: "POST", headers: { "content-type": "application/json", [INTERNAL_SECRET_HEADER]: SECRET }, body: "{}" });
  t.is(allowed.status, 200);
  for (const service of ["balancer", "node-manager", "trace-store", "zygote-builder"] as const) {
    t.is((await fetch(`${ctx.mesh.url(service)}/healthz`)).status, 200, `${service} /healthz`);
  }
  t.is((await fetch(`${ctx.mesh.url("balancer")}/metrics`)).status, 200);
});

async function withClient<S extends DescService>(service: S, name: ServiceName, metadata: Record<string, string>, call: (c: GrpcJsClient<S>) => Promise<unknown>) {
  const client = createGrpcJsClient(service, ctx.mesh.url(name), { metadata });
  try {
    return await call(client);
  } finally {
    client.close();
  }
}
