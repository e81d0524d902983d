// Tenants over real gRPC and Connect: API keys, namespaces that hide each other completely, the operator's
// API, and quotas that answer RESOURCE_EXHAUSTED with a retry hint.
import * as path from "node:path";
import test from "ava";
import * as grpc from "@grpc/grpc-js";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient, GrpcCallError, type GrpcJsClient } from "../../client/grpc-js.js";
import { AdminService } from "../../gen/faas/gateway/v1/admin_pb.js";
import { AsyncState, GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { eventually } from "../helpers/eventually.js";
import { FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test);
type Gateway = GrpcJsClient<typeof GatewayService>;

const as = (key: string): Gateway => createGrpcJsClient(GatewayService, ctx.mesh.gatewayUrl, { metadata: { authorization: `Bearer ${key}` } });
const adminAs = (key: string) => createGrpcJsClient(AdminService, ctx.mesh.gatewayUrl, { metadata: { authorization: `Bearer ${key}` } });

async function codeOf(call: Promise<unknown>): Promise<{ code: grpc.status; details: string; headers?: grpc.Metadata }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof GrpcCallError) return { code: err.code, details: err.details, headers: err.headers };
    throw err;
  }
  throw new Error("the call succeeded");
}

let acme: Gateway;
let globex: Gateway;

test.serial.before(async () => {
  acme = as(await ctx.mesh.createTenant("acme"));
  globex = as(await ctx.mesh.createTenant("globex"));
  await acme.deployFunction(readFunctionDir(path.join(FIXTURES, "echo"), { name: "hello", env: { ECHO_SECRET: "acme's" } }), { timeoutMs: 600_000 });
});

test.after.always(() => {
  acme?.close();
  globex?.close();
});

test.serial("a call without a key, with a malformed or unknown key is UNAUTHENTICATED", async (t) => {
  const none = createGrpcJsClient(GatewayService, ctx.mesh.gatewayUrl);
  for (const client of [none, as("nonsense"), as(`faas_0123456789abcdef_${"A".repeat(43)}`)]) {
    const e = await codeOf(client.invoke({ function: "hello", payload: json({}) }));
    t.is(e.code, grpc.status.UNAUTHENTICATED, e.details);
    client.close();
  }
});

test.serial("another tenant's function does not exist for a tenant: every call answers as for a name nobody has", async (t) => {
  t.is(parse((await acme.invoke({ function: "hello", payload: json({ x: 1 }) }, { timeoutMs: 120_000 })).message.output).secret, "acme's");
  for (const name of ["hello", "no-such-function"]) {
    const calls = [
      globex.invoke({ function: name, payload: json({}) }),
      globex.invokeAsync({ function: name, payload: json({}) }),
      globex.getFunction({ name }),
      globex.deleteFunction({ name }),
    ];
    for (const call of calls) {
      const e = await codeOf(call);
      t.is(e.code, grpc.status.NOT_FOUND);
      t.is(e.details, `function ${name} not found`, "the same words for another tenant's and for nobody's");
    }
  }
  t.deepEqual((await globex.listFunctions({})).message.functions, []);
  t.deepEqual((await acme.listFunctions({})).message.functions.map((f) => [f.name, f.tenant]), [["hello", "acme"]]);
  // acme's function still works: globex's delete did nothing.
  t.is((await acme.getFunction({ name: "hello" })).message.spec?.name, "hello");
});

test.serial("two tenants may each have a function of the same name; each runs its own", async (t) => {
  await globex.deployFunction(readFunctionDir(path.join(FIXTURES, "echo"), { name: "hello", env: { ECHO_SECRET: "globex's" } }), { timeoutMs: 600_000 });
  t.is(parse((await globex.invoke({ function: "hello", payload: json({}) }, { timeoutMs: 120_000 })).message.output).secret, "globex's");
  t.is(parse((await acme.invoke({ function: "hello", payload: json({}) }, { timeoutMs: 120_000 })).message.output).secret, "acme's");
});

test.serial("an async result belongs to its tenant: another gets NOT_FOUND for its id", async (t) => {
  const { invocationId } = (await acme.invokeAsync({ function: "hello", payload: json({}) })).message;
  const mine = (await acme.getResult({ invocationId, waitMs: 30_000 }, { timeoutMs: 60_000 })).message;
  t.is(mine.state, AsyncState.DONE);
  t.is(mine.result?.status, InvocationStatus.OK);
  t.is((await codeOf(globex.getResult({ invocationId, waitMs: 0 }))).code, grpc.status.NOT_FOUND);
});

test.serial("over Connect JSON, the key is the HTTP Authorization header, and the answers are the same", async (t) => {
  const url = `${ctx.mesh.gatewayUrl}/faas.gateway.v1.GatewayService/GetFunction`;
  const call = (authorization?: string) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ name: "hello" }) });
  t.is((await call()).status, 401);
  t.is(((await (await call()).json()) as { code: string }).code, "unauthenticated");
  const ok = await call(`Bearer ${ctx.mesh.apiKey}`);
  t.is(ok.status, 404, "the mesh's own tenant has no 'hello'");
  t.is(((await ok.json()) as { code: string }).code, "not_found");
});

test.serial("the operator key manages tenants and keys; tenants' keys cannot, and the operator holds no functions", async (t) => {
  const operator = adminAs(ctx.mesh.operatorKey);
  const tenantAdmin = adminAs(ctx.mesh.apiKey);
  try {
    t.is((await codeOf(tenantAdmin.createTenant({ name: "intruder" }))).code, grpc.status.PERMISSION_DENIED);
    t.is((await codeOf(tenantAdmin.listTenants({}))).code, grpc.status.PERMISSION_DENIED);
    const names = (await operator.listTenants({})).message.tenants.map((x) => x.name);
    t.deepEqual(names, ["acme", "dev", "globex"]);
    t.is((await codeOf(operator.createTenant({ name: "acme" }))).code, grpc.status.ALREADY_EXISTS);
    t.is((await codeOf(operator.createTenant({ name: "Bad_Name" }))).code, grpc.status.INVALID_ARGUMENT);
    const asOperator = as(ctx.mesh.operatorKey);
    t.is((await codeOf(asOperator.invoke({ function: "hello", payload: json({}) }))).code, grpc.status.PERMISSION_DENIED);
    asOperator.close();

    // A revoked key stops working at once; the tenant's other keys do not.
    const extra = await operator.createApiKey({ tenant: "acme", description: "ci" });
    const withExtra = as(extra.message.apiKey);
    t.is((await withExtra.getFunction({ name: "hello" })).message.spec?.name, "hello");
    const listed = (await operator.listApiKeys({ tenant: "acme" })).message.keys;
    t.true(listed.some((k) => k.keyId === extra.message.info?.keyId && k.description === "ci"));
    t.false(JSON.stringify(listed.map((k) => [k.keyId, k.tenant, k.description])).includes(extra.message.apiKey.split("_")[2]!), "lists never show a secret");
    await operator.revokeApiKey({ keyId: extra.message.info!.keyId });
    t.is((await codeOf(withExtra.getFunction({ name: "hello" }))).code, grpc.status.UNAUTHENTICATED);
    withExtra.close();
    t.is((await acme.getFunction({ name: "hello" })).message.spec?.name, "hello");

    // A tenant with functions cannot be deleted.
    t.is((await codeOf(operator.deleteTenant({ name: "acme" }))).code, grpc.status.FAILED_PRECONDITION);
  } finally {
    operator.close();
    tenantAdmin.close();
  }
});

test.serial("a tenant over its rate gets RESOURCE_EXHAUSTED with a retry hint, and is served again after it", async (t) => {
  const operator = adminAs(ctx.mesh.operatorKey);
  const slow = as(await ctx.mesh.createTenant("slowpoke", { ratePerSecond: 1, burst: 1, maxConcurrent: 10 }));
  try {
    await slow.deployFunction(readFunctionDir(path.join(FIXTURES, "echo"), { name: "ping" }), { timeoutMs: 600_000 });
    await operator.setQuota({ tenant: "slowpoke", quota: { ratePerSecond: 1, burst: 1, maxConcurrent: 10 } });
    t.is((await slow.invoke({ function: "ping", payload: json({}) }, { timeoutMs: 120_000 })).message.status, InvocationStatus.OK);
    // The first call was a cold start, long enough on a busy machine for the bucket to refill: three calls at
    // once then hold one token at most between them, so at least two are refused.
    const answers = await Promise.all([1, 2, 3].map(() => codeOf(slow.invoke({ function: "ping", payload: json({}) })).catch(() => undefined)));
    const refused = answers.filter((a) => a !== undefined);
    t.true(refused.length >= 2, `${refused.length} of 3 refused`);
    for (const r of refused) t.is(r.code, grpc.status.RESOURCE_EXHAUSTED, r.details);
    const e = refused[0]!;
    const hint = Number(e.headers?.get("retry-after-ms")[0]);
    t.true(hint > 0 && hint <= 1000, `retry-after-ms ${hint}`);
    await new Promise((r) => setTimeout(r, hint));
    t.is((await slow.invoke({ function: "ping", payload: json({}) }, { timeoutMs: 120_000 })).message.status, InvocationStatus.OK);
    // Other tenants are not affected by slowpoke's limit.
    t.is((await acme.invoke({ function: "hello", payload: json({}) }, { timeoutMs: 120_000 })).message.status, InvocationStatus.OK);
  } finally {
    slow.close();
    operator.close();
  }
});

test.serial("a tenant at its concurrency limit gets RESOURCE_EXHAUSTED while its invocations run", async (t) => {
  const busy = as(await ctx.mesh.createTenant("busy", { maxConcurrent: 1 }));
  try {
    await busy.deployFunction(readFunctionDir(path.join(FIXTURES, "hangs"), { name: "spin", timeoutMs: 3000 }), { timeoutMs: 600_000 });
    const first = codeOf(busy.invoke({ function: "spin", payload: json({}) }, { timeoutMs: 120_000 }));
    // The first holds the tenant's only slot until its timeout fires: wait until the gateway counts it.
    let e;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      e = await codeOf(busy.getFunction({ name: "spin" }).then(() => busy.invoke({ function: "spin", payload: json({}) })));
      if (e.code === grpc.status.RESOURCE_EXHAUSTED) break;
    }
    t.is(e?.code, grpc.status.RESOURCE_EXHAUSTED, e?.details);
    t.regex(e!.details, /busy has 1 invocations running/);
    t.truthy(e!.headers?.get("retry-after-ms")[0]);
    t.is((await first).code, grpc.status.DEADLINE_EXCEEDED, "the first ends by its timeout");
  } finally {
    busy.close();
  }
});

test.serial("async attempts hold their tenant's concurrency slots too: they run one at a time at a limit of 1", async (t) => {
  const single = as(await ctx.mesh.createTenant("single", { maxConcurrent: 1 }));
  try {
    await single.deployFunction(readFunctionDir(path.join(FIXTURES, "batchable"), { name: "work", maxConcurrency: 4 }), { timeoutMs: 600_000 });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await single.invokeAsync({ function: "work", payload: json({ rounds: 20_000, seed: i }) })).message.invocationId);
    for (const invocationId of ids) {
      const r = (await single.getResult({ invocationId, waitMs: 60_000 }, { timeoutMs: 90_000 })).message;
      t.is(r.state, AsyncState.DONE);
      t.is(r.result?.status, InvocationStatus.OK);
    }
    // Each attempt's run, from its record (start and total): no two overlap.
    const runs = [];
    for (const invocationId of ids) {
      const rec = await eventually(async () => (await ctx.traceStore.queryInvocations({ invocationId })).message.records[0], `the record of ${invocationId}`);
      runs.push([rec.receivedAtUnixUs, rec.receivedAtUnixUs + rec.timings!.totalUs]);
    }
    runs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 1; i < runs.length; i++) t.true(runs[i][0] >= runs[i - 1][1], `attempt ${i} started before attempt ${i - 1} ended`);
  } finally {
    single.close();
  }
});
