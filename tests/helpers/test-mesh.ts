// A mesh per test file, in a temporary directory, torn down (containers included) after the file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestFn } from "ava";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient, type GrpcJsClient } from "../../client/grpc-js.js";
import { GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { LocalMesh, REPO_ROOT, type MeshOptions } from "../../scripts/local-mesh.js";

export const FIXTURES = path.join(REPO_ROOT, "tests/fixtures/functions");
export const SAMPLES = path.join(REPO_ROOT, "functions");

export interface MeshContext {
  mesh: LocalMesh;
  gateway: GrpcJsClient<typeof GatewayService>;
  traceStore: GrpcJsClient<typeof TraceStoreService>;
  dir: string;
}

export function useMesh(test: TestFn<unknown>, options: Omit<MeshOptions, "dir"> = {}): MeshContext {
  const ctx = {} as MeshContext;
  test.serial.before(async () => {
    ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-test-"));
    ctx.mesh = await LocalMesh.start({ ...options, dir: ctx.dir });
    ctx.gateway = createGrpcJsClient(GatewayService, ctx.mesh.gatewayUrl, { metadata: ctx.mesh.auth });
    ctx.traceStore = createGrpcJsClient(TraceStoreService, ctx.mesh.url("trace-store"));
  });
  test.after.always(async () => {
    ctx.gateway?.close();
    ctx.traceStore?.close();
    await ctx.mesh?.stop();
    if (ctx.dir && !process.env.KEEP_TEST_DIRS) fs.rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

export async function deployFixture(ctx: MeshContext, name: string, from = FIXTURES) {
  return (await ctx.gateway.deployFunction(readFunctionDir(path.join(from, name)), { timeoutMs: 600_000 })).message;
}

export const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Invokes fn through the mesh's gateway with a JSON payload; the gateway's answer. */
export async function invokeJson(ctx: MeshContext, fn: string, payload: unknown = {}) {
  return (await ctx.gateway.invoke({ function: fn, payload: json(payload) }, { timeoutMs: 120_000 })).message;
}
export const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));
