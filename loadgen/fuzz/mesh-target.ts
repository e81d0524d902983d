// The gateway under fuzz in a LocalMesh: the functions deployed for it, the checks after the run (the
// process alive, /healthz, a normal invocation), and the mesh settings the fuzzer relies on.
import * as fs from "node:fs";
import * as path from "node:path";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient } from "../../client/grpc-js.js";
import { GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { REPO_ROOT, type LocalMesh } from "../../scripts/local-mesh.js";
import { gatewayReadMaxBytes, type FuzzTarget } from "./target.js";

const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Small code uploads keep the gateway's readMaxBytes (and so the oversize requests) at 3 MiB, not 101 MiB. */
const MAX_CODE_BYTES = 256 * 1024;

/** Environment of a mesh started for fuzzing (MeshOptions.env). */
export const FUZZ_MESH_ENV = { gateway: { MAX_CODE_BYTES: String(MAX_CODE_BYTES), MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) } };

/** The mesh's API key when it has one (the gateway's authentication), read so this compiles without it too. */
export const meshApiKey = (mesh: LocalMesh): string | undefined => (mesh as unknown as { apiKey?: string }).apiKey || undefined;

/** Deploys the no-op and echo functions and makes a few async invocations; returns what the fuzzer needs. */
export async function prepareTarget(mesh: LocalMesh, headers: Record<string, string> = {}): Promise<FuzzTarget> {
  const apiKey = meshApiKey(mesh);
  const metadata: Record<string, string> = { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers };
  const client = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata });
  try {
    const functions = [
      readFunctionDir(path.join(REPO_ROOT, "functions/noop")),
      readFunctionDir(path.join(REPO_ROOT, "tests/fixtures/functions/echo"), { maxConcurrency: 16 }),
    ];
    for (const f of functions) await client.deployFunction(f, { timeoutMs: 600_000 });
    const invocationIds: string[] = [];
    for (let i = 0; i < 4; i++) invocationIds.push((await client.invokeAsync({ function: "noop", payload: Buffer.from("{}") }, { timeoutMs: 30_000 })).message.invocationId);
    return {
      url: mesh.gatewayUrl,
      apiKey,
      headers,
      functions,
      invocationIds,
      readMaxBytes: gatewayReadMaxBytes(MAX_CODE_BYTES, MAX_PAYLOAD_BYTES),
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      maxCodeBytes: MAX_CODE_BYTES,
    };
  } finally {
    client.close();
  }
}

export interface GatewayHealth {
  readonly alive: boolean;
  readonly healthz: number;
  /** A normal Invoke of the first function (Connect JSON) answered OK with status INVOCATION_STATUS_OK. */
  readonly invokeOk: boolean;
  readonly detail?: string;
  readonly rssMb?: number;
}

export function gatewayAlive(mesh: LocalMesh): boolean {
  const s = mesh.services.get("gateway");
  return !!s && s.child.exitCode === null && s.child.signalCode === null;
}

export function gatewayRssMb(mesh: LocalMesh): number | undefined {
  const pid = mesh.services.get("gateway")?.child.pid;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export async function gatewayHealth(mesh: LocalMesh, target: FuzzTarget): Promise<GatewayHealth> {
  const alive = gatewayAlive(mesh);
  let healthz = 0;
  let invokeOk = false;
  let detail: string | undefined;
  try {
    healthz = (await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;
    const res = await fetch(`${target.url}/faas.gateway.v1.GatewayService/Invoke`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}), ...target.headers },
      body: JSON.stringify({ function: target.functions[0].spec!.name, payload: Buffer.from('{"after":"fuzz"}').toString("base64") }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    invokeOk = res.status === 200 && (JSON.parse(text) as { status?: string }).status === "INVOCATION_STATUS_OK";
    if (!invokeOk) detail = `invoke answered ${res.status}: ${text.slice(0, 300)}`;
  } catch (err) {
    detail = (err as Error).message;
  }
  return { alive, healthz, invokeOk, detail, rssMb: gatewayRssMb(mesh) };
}
