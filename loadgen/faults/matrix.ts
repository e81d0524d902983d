// The fault matrix: each fault is injected into a live mesh while one function of its own takes an
// open-loop load, then every accepted invocation is looked up in trace-store. A fault passes when no
// accepted invocation is without a record, no call hung, and its own check holds (containers adopted,
// async results all there, timeouts fired, ...). Used by `npm run faults` (the report) and by
// tests/integration/faults.test.ts.
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import Docker from "dockerode";
import { readFunctionDir } from "../../client/function-dir.js";
import { createGrpcJsClient, GrpcCallError, type GrpcJsClient } from "../../client/grpc-js.js";
import { AsyncState, GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { INVOCATION_ID_HEADER } from "../../services/gateway/invoker.js";
import { LABELS } from "../../services/node-manager/labels.js";
import { REPO_ROOT, type LocalMesh } from "../../scripts/local-mesh.js";
import { runOpenLoop, type CallResult } from "./open-loop.js";
import { auditRecords, type RecordAudit } from "./record-audit.js";

export const FAULT_FUNCTIONS = path.join(REPO_ROOT, "loadgen/faults/functions");

type Gateway = GrpcJsClient<typeof GatewayService>;

export interface FaultContext {
  readonly mesh: LocalMesh;
  /** The function under load, as the mesh behind the gateway knows it (containers, records). */
  readonly qualified: string;
  /** When the load ends (ms since its start). */
  readonly durationMs: number;
}

export interface Fault {
  readonly name: string;
  readonly title: string;
  /** Which function directory under loadgen/faults/functions the load calls. */
  readonly fixture: "fault-work" | "fault-hang";
  readonly mode: "sync" | "async";
  readonly payload: (seq: number) => unknown;
  /** Runs alongside the load (started with it): waits for its moment, injects the fault, recovers. */
  readonly inject: (c: FaultContext) => Promise<Record<string, number | string>>;
  /** Its own check after the load, on what the calls and records came to; failures in words. */
  readonly check?: (r: { calls: readonly CallResult[]; audit: RecordAudit; notes: Record<string, number | string> }) => string[];
}

export interface FaultResult {
  readonly fault: string;
  readonly title: string;
  readonly rate: number;
  readonly calls: number;
  readonly accepted: number;
  /** Accepted invocations that ended with a record. */
  readonly recorded: number;
  readonly lost: number;
  readonly hung: number;
  /** Answers by code: OK, UNAVAILABLE, DEADLINE_EXCEEDED, ... */
  readonly answers: Readonly<Record<string, number>>;
  /** Records by status. */
  readonly records: Readonly<Record<string, number>>;
  /** Async only: accepted invocations whose result GetResult gives as DONE. */
  readonly asyncDone?: number;
  readonly notes: Readonly<Record<string, number | string>>;
  readonly failures: readonly string[];
  readonly passed: boolean;
}

/** Which calls of the hung-function fault spin. */
const hangs = (seq: number) => seq % 100 === 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves at `fraction` of the load's duration after it started. */
const at = (startedAt: number, c: FaultContext, fraction: number) => sleep(Math.max(0, startedAt + c.durationMs * fraction - Date.now()));

async function containersOf(mesh: LocalMesh, qualified: string): Promise<{ id: string; inflight: number }[]> {
  const nm = createGrpcJsClient(NodeManagerService, mesh.url("node-manager"));
  try {
    return (await nm.listContainers({}, { timeoutMs: 10_000 })).message.containers.filter((c) => c.function === qualified).map((c) => ({ id: c.containerId, inflight: c.inflight }));
  } finally {
    nm.close();
  }
}

export const FAULTS: readonly Fault[] = [
  {
    name: "node-manager-kill",
    title: "kill -9 node-manager under load, restart it after 1 s",
    fixture: "fault-work",
    mode: "sync",
    payload: (seq) => ({ seq, ioWaitMs: 200 }),
    async inject(c) {
      const started = Date.now();
      await at(started, c, 0.35);
      const before = await containersOf(c.mesh, c.qualified);
      await c.mesh.restartService("node-manager", "SIGKILL", 1000);
      const after = new Set((await containersOf(c.mesh, c.qualified)).map((x) => x.id));
      return { containersBefore: before.length, inflightAtKill: before.reduce((n, x) => n + x.inflight, 0), adopted: before.filter((x) => after.has(x.id)).length };
    },
    check: ({ notes }) => (Number(notes.adopted) === Number(notes.containersBefore) && Number(notes.containersBefore) > 0 ? [] : [`adopted ${notes.adopted} of ${notes.containersBefore} containers`]),
  },
  {
    name: "container-kill",
    title: "a function container killed (docker kill) mid-invocation",
    fixture: "fault-work",
    mode: "sync",
    payload: (seq) => ({ seq, ioWaitMs: 200 }),
    async inject(c) {
      const started = Date.now();
      await at(started, c, 0.4);
      const busiest = (await containersOf(c.mesh, c.qualified)).sort((a, b) => b.inflight - a.inflight)[0];
      if (!busiest) return { killed: "none", inflightAtKill: 0 };
      const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
      const [found] = await docker.listContainers({ filters: { label: [`${LABELS.node}=${c.mesh.nodeId}`, `${LABELS.container}=${busiest.id}`] } });
      if (found) await docker.getContainer(found.Id).kill({ signal: "SIGKILL" });
      return { killed: busiest.id, inflightAtKill: busiest.inflight };
    },
    check: ({ audit, notes }) => {
      const out: string[] = [];
      if (notes.killed === "none") out.push("no container to kill");
      if (!audit.statuses.OK) out.push("nothing succeeded");
      return out;
    },
  },
  {
    name: "nats-restart",
    title: "nats-server restarted (down 2 s) under async load",
    fixture: "fault-work",
    mode: "async",
    payload: (seq) => ({ seq, ioWaitMs: 50 }),
    async inject(c) {
      const started = Date.now();
      await at(started, c, 0.35);
      await c.mesh.restartNats(2000);
      return {};
    },
  },
  {
    name: "trace-store-restart",
    title: "kill -9 trace-store under load, restart it after 2 s",
    fixture: "fault-work",
    mode: "sync",
    payload: (seq) => ({ seq, ioWaitMs: 50 }),
    async inject(c) {
      const started = Date.now();
      await at(started, c, 0.35);
      await c.mesh.restartService("trace-store", "SIGKILL", 2000);
      return {};
    },
  },
  {
    name: "hung-function",
    title: "a function that spins forever (1 call in 100) past its 1 s timeout",
    fixture: "fault-hang",
    mode: "sync",
    payload: (seq) => ({ seq, hang: hangs(seq) }),
    inject: async () => ({}),
    check: ({ calls, audit }) => {
      const out: string[] = [];
      const hung = calls.filter((_, seq) => hangs(seq));
      if (hung.some((r) => r.code !== "DEADLINE_EXCEEDED")) out.push(`hung calls answered ${[...new Set(hung.map((r) => r.code))].join(", ")}, not only DEADLINE_EXCEEDED`);
      if ((audit.statuses.TIMEOUT ?? 0) < hung.length) out.push(`${audit.statuses.TIMEOUT ?? 0} timeouts recorded for ${hung.length} hung calls`);
      // The others are served: a killed worker is replaced, not left broken. Each spinning worker holds a
      // core for its second, so on a small machine a few others may time out too; most may not.
      const others = calls.filter((_, seq) => !hangs(seq));
      const served = others.filter((r) => r.code === "OK").length;
      if (served < 0.95 * others.length) out.push(`only ${served} of ${others.length} calls that did not hang were served`);
      return out;
    },
  },
];

export interface MatrixOptions {
  readonly rate: number;
  readonly durationMs: number;
  /** A call without an answer after this is hung (default: the function's timeout plus a minute). */
  readonly hangMs?: number;
  /** How long to wait for records and async results after the load. */
  readonly settleMs?: number;
  readonly only?: readonly string[];
  readonly onResult?: (r: FaultResult) => void;
}

/** Deploys each fault's function under its own name, warms it, then runs the faults one after another. */
export async function runFaultMatrix(mesh: LocalMesh, o: MatrixOptions): Promise<FaultResult[]> {
  const gateway = createGrpcJsClient(GatewayService, mesh.gatewayUrl, { metadata: mesh.auth });
  const results: FaultResult[] = [];
  try {
    for (const fault of FAULTS.filter((f) => !o.only || o.only.includes(f.name))) {
      const r = await runFault(mesh, gateway, fault, o);
      o.onResult?.(r);
      results.push(r);
    }
  } finally {
    gateway.close();
  }
  return results;
}

async function runFault(mesh: LocalMesh, gateway: Gateway, fault: Fault, o: MatrixOptions): Promise<FaultResult> {
  const fn = `f-${fault.name}`;
  await gateway.deployFunction(readFunctionDir(path.join(FAULT_FUNCTIONS, fault.fixture), { name: fn }), { timeoutMs: 600_000 });
  // Warm: one container up before the clock starts, so the fault hits a serving function.
  await gateway.invoke({ function: fn, payload: json(fault.payload(-1)) }, { timeoutMs: 120_000 }).catch(() => undefined);
  const c: FaultContext = { mesh, qualified: mesh.qualified(fn), durationMs: o.durationMs };
  const hangMs = o.hangMs ?? 70_000;

  const injected = fault.inject(c);
  const calls = await runOpenLoop({ rate: o.rate, durationMs: o.durationMs, hangMs, call: (seq) => callOnce(gateway, fault, fn, seq, hangMs) });
  const notes = await injected;

  const accepted = new Set(calls.flatMap((r) => (r.invocationId ? [r.invocationId] : [])));
  const settleMs = o.settleMs ?? 120_000;
  const traceStore = createGrpcJsClient(TraceStoreService, mesh.url("trace-store"));
  let audit: RecordAudit;
  let asyncDone: number | undefined;
  try {
    if (fault.mode === "async") asyncDone = await countDone(gateway, accepted, settleMs);
    audit = await auditRecords(traceStore, c.qualified, accepted, settleMs);
  } finally {
    traceStore.close();
  }
  const answers: Record<string, number> = {};
  for (const r of calls) answers[r.code] = (answers[r.code] ?? 0) + 1;
  const hung = calls.filter((r) => r.hung).length;
  const failures = [
    ...(audit.lost.length ? [`${audit.lost.length} accepted invocations without a record (first: ${audit.lost.slice(0, 3).join(", ")})`] : []),
    ...(hung ? [`${hung} calls hung`] : []),
    ...(asyncDone !== undefined && asyncDone !== accepted.size ? [`${accepted.size - asyncDone} accepted async invocations without a result`] : []),
    ...(accepted.size === 0 ? ["nothing was accepted"] : []),
    ...(fault.check?.({ calls, audit, notes }) ?? []),
  ];
  return {
    fault: fault.name,
    title: fault.title,
    rate: o.rate,
    calls: calls.length,
    accepted: accepted.size,
    recorded: audit.recorded,
    lost: audit.lost.length,
    hung,
    answers,
    records: audit.statuses,
    ...(asyncDone !== undefined && { asyncDone }),
    notes,
    failures,
    passed: failures.length === 0,
  };
}

async function callOnce(gateway: Gateway, fault: Fault, fn: string, seq: number, hangMs: number): Promise<{ invocationId?: string; code: string }> {
  const payload = json(fault.payload(seq));
  try {
    if (fault.mode === "async") {
      const { message } = await gateway.invokeAsync({ function: fn, payload }, { timeoutMs: hangMs + 5000 });
      return { invocationId: message.invocationId, code: "OK" };
    }
    const { message } = await gateway.invoke({ function: fn, payload }, { timeoutMs: hangMs + 5000 });
    return { invocationId: message.invocationId, code: "OK" };
  } catch (err) {
    if (!(err instanceof GrpcCallError)) throw err;
    // A sync call's error with an id is an accepted invocation that failed (it has a record); an async
    // call is accepted only when InvokeAsync answered OK (stored in JetStream), whatever id an error names.
    const id = fault.mode === "sync" ? err.headers?.get(INVOCATION_ID_HEADER)[0] : undefined;
    return { invocationId: typeof id === "string" && id ? id : undefined, code: grpc.status[err.code] };
  }
}

/** Waits for the result of every accepted async invocation; returns how many are DONE. */
async function countDone(gateway: Gateway, ids: ReadonlySet<string>, waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  const pending = new Set(ids);
  let done = 0;
  while (pending.size > 0 && Date.now() < deadline) {
    const batch = [...pending].slice(0, 64);
    await Promise.all(
      batch.map(async (id) => {
        const r = await gateway.getResult({ invocationId: id, waitMs: 5000 }, { timeoutMs: 30_000 }).catch(() => undefined);
        if (r?.message.state === AsyncState.DONE) {
          pending.delete(id);
          done++;
        }
      }),
    );
  }
  return done;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
