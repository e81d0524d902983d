// trace-store as its own process: a real nats-server, the compiled service, a SQLite file, SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import Database from "better-sqlite3";
import { publishEvent, subjects } from "../../common/nats.js";
import { connectPeer, type Peer } from "../../common/transport.js";
import { InvocationStatus, StartKind, TimingsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, ContainerStateChangedSchema, ContainerUsageSampledSchema } from "../../gen/faas/events/v1/events_pb.js";
import { InvocationRecordSchema, TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";

const MAIN = fileURLToPath(new URL("../../services/trace-store/main.js", import.meta.url));
const SECOND_US = 1_000_000;
const T0_US = 1_704_067_200 * SECOND_US;

// ---- launch helpers (to move into a shared place later) ----

/** A port that was free a moment ago: bind to 0, read it, release it. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until check returns a value (not undefined), or fails with what was last seen once the deadline passes. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function portAccepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(undefined));
  });
}

interface Launched {
  readonly child: ChildProcess;
  /** stdout + stderr so far, for failure messages. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

function launch(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Launched {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return { child, output: () => output, exited };
}

async function stopProcess(p: Launched | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill("SIGKILL");
  await p.exited;
}

async function startNatsServer(): Promise<{ process: Launched; url: string }> {
  const port = await freePort();
  const proc = launch("nats-server", ["-a", "127.0.0.1", "-p", String(port)]);
  await waitFor(`nats-server on port ${port}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`nats-server exited: ${proc.output()}`);
    return portAccepts(port);
  });
  return { process: proc, url: `nats://127.0.0.1:${port}` };
}

/** GET /healthz on a connection of its own (agent: false): an idle keep-alive socket would delay the server's close. */
function healthy(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? true : undefined);
    });
    req.once("error", () => resolve(undefined));
  });
}

// ---- the test ----

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-store-it-"));
const dbFile = path.join(dir, "trace-store.db");
let nats: Launched | undefined;
let traceStore: Launched | undefined;
let publisher: NatsConnection | undefined;
let peer: Peer<typeof TraceStoreService> | undefined;

test.after.always(async () => {
  peer?.close();
  await publisher?.close().catch(() => {});
  await stopProcess(traceStore);
  await stopProcess(nats);
  fs.rmSync(dir, { recursive: true, force: true });
});

function event(sequence: number, seconds: number, state: ContainerState, containerId = "c1") {
  return create(ContainerStateChangedSchema, {
    nodeId: "node-it",
    containerId,
    function: "resize",
    role: ContainerRole.EXECUTOR,
    state,
    memoryMb: 256,
    atUnixUs: BigInt(T0_US + seconds * SECOND_US),
    reason: "integration",
    sequence: BigInt(sequence),
  });
}

function record(id: string, startKind: StartKind, totalUs: number) {
  return create(InvocationRecordSchema, {
    invocationId: id,
    function: "resize",
    nodeId: "node-it",
    containerId: "c1",
    startKind,
    status: InvocationStatus.OK,
    timings: create(TimingsSchema, { execUs: BigInt(totalUs), totalUs: BigInt(totalUs) }),
    receivedAtUnixUs: BigInt(T0_US + SECOND_US),
  });
}

test.serial("trace-store records NATS events and invocations, summarizes, and stops cleanly keeping its data", async (t) => {
  const started = await startNatsServer();
  nats = started.process;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  traceStore = launch(process.execPath, [MAIN], {
    TRACE_STORE_PORT: String(port),
    TRACE_STORE_DB: dbFile,
    NATS_URL: started.url,
    LOG_LEVEL: "warn",
  });
  const service = traceStore;
  await waitFor("trace-store /healthz", async () => {
    if (service.child.exitCode !== null) throw new Error(`trace-store exited ${service.child.exitCode}: ${service.output()}`);
    return healthy(port);
  });
  peer = connectPeer(TraceStoreService, url);
  const client = peer.client;

  // Container events over NATS, one of them delivered twice.
  publisher = await connect({ servers: started.url });
  const events = [event(1, 0, ContainerState.STARTING), event(2, 1, ContainerState.IDLE), event(3, 2, ContainerState.BUSY), event(4, 3, ContainerState.IDLE), event(5, 10, ContainerState.REMOVED)];
  for (const e of [...events, events[1]]) publishEvent(publisher, subjects.containers("node-it"), ContainerStateChangedSchema, e);
  await publisher.flush();
  const stored = await waitFor("the container events to be stored", async () => {
    const { events: got } = await client.queryContainerEvents({ nodeId: "node-it" });
    return got.length >= events.length ? got : undefined;
  });
  t.deepEqual(
    stored.map((e) => e.sequence),
    [1n, 2n, 3n, 4n, 5n],
  );

  // A burst, as under load: every event is stored (in batched transactions).
  const BURST = 1000;
  for (let i = 0; i < BURST; i++) {
    const e = event(i + 1, 20 + i / 1000, ContainerState.STARTING, `burst-${i}`);
    e.nodeId = "node-burst";
    e.function = "burst";
    publishEvent(publisher, subjects.containers("node-burst"), ContainerStateChangedSchema, e);
  }
  await publisher.flush();
  await waitFor("the burst to be stored", async () => {
    const { events: got } = await client.queryContainerEvents({ nodeId: "node-burst", limit: 10_000 });
    return got.length === BURST ? true : undefined;
  });

  // Invocation records, sent twice.
  const records = [record("inv-1", StartKind.COLD, 5000), record("inv-2", StartKind.WARM, 100), record("inv-3", StartKind.WARM, 300)];
  t.is((await client.recordInvocations({ records })).stored, 3);
  t.is((await client.recordInvocations({ records })).stored, 0);

  const summary = await client.summarize({ filter: { function: "resize" } });
  t.is(summary.invocations, 3n);
  t.is(summary.coldStarts, 1n);
  t.is(summary.errors, 0n);
  t.deepEqual(
    summary.latency.map((l) => [l.startKind, l.count, l.p50Us, l.p99Us]),
    [
      [StartKind.UNSPECIFIED, 3n, 300n, 5000n],
      [StartKind.COLD, 1n, 5000n, 5000n],
      [StartKind.WARM, 2n, 100n, 300n],
    ],
  );
  t.is(summary.containersCreated, 1n);
  t.is(summary.memoryMbSeconds, 10 * 256);

  // Measured RSS over NATS (one sample delivered twice): c1 at 100 MB from 1 s, at 50 MB from 5 s until
  // its removal at 10 s; a sample of a container the store has no event of is kept but not counted.
  const MB = 1024n * 1024n;
  const usage = (seconds: number, rssMb: bigint, containerId = "c1") =>
    create(ContainerUsageSampledSchema, { nodeId: "node-it", atUnixUs: BigInt(T0_US + seconds * SECOND_US), containers: [{ containerId, rssBytes: rssMb * MB, memoryMb: 256 }] });
  const samples = [usage(1, 100n), usage(5, 50n), usage(5, 50n), usage(6, 999n, "unknown")];
  for (const s of samples) publishEvent(publisher, subjects.usage("node-it"), ContainerUsageSampledSchema, s);
  // Helper forks and stem-cell claims of another function, with the package set of the zygote lent.
  const packages = ["lodash@4.17.21", "sharp@0.33.1"];
  const lent = [
    create(ContainerStateChangedSchema, { ...event(6, 4, ContainerState.IDLE, "z1"), function: "", role: ContainerRole.ZYGOTE, packages }),
    create(ContainerStateChangedSchema, { ...event(7, 5, ContainerState.STARTING, "z1"), function: "thumb", role: ContainerRole.HELPER, startKind: StartKind.HELPER, packages, previousState: ContainerState.IDLE }),
    create(ContainerStateChangedSchema, { ...event(8, 6, ContainerState.STARTING, "s1"), function: "thumb", startKind: StartKind.PREWARM, previousState: ContainerState.IDLE }),
  ];
  for (const e of lent) publishEvent(publisher, subjects.containers("node-it"), ContainerStateChangedSchema, e);
  await publisher.flush();
  const withRss = await waitFor("the usage samples to be stored", async () => {
    const s = await client.summarize({ filter: { function: "resize" } });
    // Both samples of c1, not only the first (which alone would hold 100 MB until the removal).
    return s.rssMbSeconds === 4 * 100 + 5 * 50 ? s : undefined;
  });
  t.is(withRss.rssMbSeconds, 4 * 100 + 5 * 50);
  const thumb = await waitFor("the lending events to be stored", async () => {
    const s = await client.summarize({ filter: { function: "thumb" } });
    return s.helperStarts + s.prewarmStarts >= 2n ? s : undefined;
  });
  t.is(thumb.helperStarts, 1n);
  t.is(thumb.prewarmStarts, 1n);
  const { events: z1 } = await client.queryContainerEvents({ containerId: "z1" });
  t.deepEqual(
    z1.map((e) => [e.role, e.startKind, e.packages]),
    [
      [ContainerRole.ZYGOTE, StartKind.UNSPECIFIED, packages],
      [ContainerRole.HELPER, StartKind.HELPER, packages],
    ],
  );

  // SIGTERM: a graceful stop with status 0, and the file keeps everything.
  peer.close();
  peer = undefined;
  service.child.kill("SIGTERM");
  const code = await service.exited;
  t.is(code, 0, service.output());

  const reopened = new Database(dbFile, { readonly: true });
  try {
    const count = (table: string) => (reopened.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    t.is(count("invocations"), 3);
    t.is(count("container_events"), 5 + BURST + 3);
    t.is(count("container_lifetimes"), 1 + BURST + 2);
    t.is(count("container_usage_samples"), 3);
  } finally {
    reopened.close();
  }
});
