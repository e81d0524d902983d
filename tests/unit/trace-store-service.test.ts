// The gRPC surface in-process: a real server on a free port, a real client, a SQLite file.
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import test from "ava";
import { FakeClock } from "../../common/clock.js";
import { createLogger } from "../../common/logger.js";
import { serve, type RunningServer } from "../../common/server.js";
import { connectPeer, type Peer } from "../../common/transport.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, ContainerUsageSampledSchema } from "../../gen/faas/events/v1/events_pb.js";
import { FilterSchema, TraceStoreService, type InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { ContainerEventStore } from "../../services/trace-store/container-event-store.js";
import { openDatabase, type Db } from "../../services/trace-store/database.js";
import { GroupCommit } from "../../services/trace-store/group-commit.js";
import { InvocationStore } from "../../services/trace-store/invocation-store.js";
import { traceStoreService } from "../../services/trace-store/service.js";
import { UsageSampleStore } from "../../services/trace-store/usage-sample-store.js";
import { containerEvent, invocation, removeTempDir, SECOND_US, T0_US, tempDir, timings } from "./trace-store-fixtures.js";

const dir = tempDir("trace-store-service");
let db: Db;
let server: RunningServer;
let peer: Peer<typeof TraceStoreService>;
let invocationWriter: GroupCommit<readonly InvocationRecord[], number>;
let containers: ContainerEventStore;
let samples: UsageSampleStore;
const clock = new FakeClock();

test.before(async () => {
  db = openDatabase(path.join(dir, "trace-store.db"));
  const invocations = new InvocationStore(db);
  containers = new ContainerEventStore(db);
  samples = new UsageSampleStore(db);
  invocationWriter = new GroupCommit({ maxDelayMs: 2, maxWeight: 1000, weigh: (r) => r.length, commit: (groups) => invocations.recordGroups(groups) });
  server = await serve({ name: "trace-store-test", logger: createLogger("trace-store-test", "silent"), services: [traceStoreService({ invocations, invocationWriter, containers, samples, clock })] });
  peer = connectPeer(TraceStoreService, server.url);
});

test.after.always(async () => {
  peer?.close();
  await server?.close(100);
  invocationWriter?.close();
  if (db?.open) db.close();
  removeTempDir(dir);
});

async function rejectsWith(t: import("ava").ExecutionContext, call: Promise<unknown>, code: Code, message?: RegExp): Promise<void> {
  const err = await t.throwsAsync(call);
  const connectErr = ConnectError.from(err);
  t.is(connectErr.code, code, connectErr.message);
  if (message) t.regex(connectErr.rawMessage, message);
}

const ids = async (records: Promise<{ records: InvocationRecord[] }>) => (await records).records.map((r) => r.invocationId);

test.serial("an empty batch stores nothing", async (t) => {
  t.is((await peer.client.recordInvocations({ records: [] })).stored, 0);
});

test.serial("a batch with an invalid record is refused whole, naming the record", async (t) => {
  const records = [invocation("ok-1"), invocation("ok-2"), invocation("", {}), invocation("ok-3")];
  await rejectsWith(t, peer.client.recordInvocations({ records }), Code.InvalidArgument, /records\[2\].*invocation_id/);
  await rejectsWith(t, peer.client.recordInvocations({ records: [invocation("ok-1"), invocation("x", { function: "" })] }), Code.InvalidArgument, /records\[1\].*function/);
  await rejectsWith(t, peer.client.recordInvocations({ records: [invocation("y", { receivedAtUnixUs: 0n })] }), Code.InvalidArgument, /received_at_unix_us/);
  await rejectsWith(t, peer.client.recordInvocations({ records: [invocation("z", { timings: timings({ total: 2 ** 60 }) })] }), Code.InvalidArgument, /total_us/);
  t.deepEqual(await ids(peer.client.queryInvocations({})), []);
});

test.serial("records sent twice are stored once, also when requests race", async (t) => {
  t.is((await peer.client.recordInvocations({ records: [invocation("dup-1"), invocation("dup-2")] })).stored, 2);
  t.is((await peer.client.recordInvocations({ records: [invocation("dup-1"), invocation("dup-2")] })).stored, 0);
  const racing = await Promise.all(
    Array.from({ length: 8 }, (_, i) => peer.client.recordInvocations({ records: [invocation(`race-${i % 4}`), invocation("race-shared")] })),
  );
  t.is(
    racing.reduce((sum, r) => sum + r.stored, 0),
    5,
  );
});

test.serial("queries check their arguments", async (t) => {
  await rejectsWith(t, peer.client.queryInvocations({ limit: 10_001 }), Code.InvalidArgument, /limit/);
  await rejectsWith(t, peer.client.queryContainerEvents({ limit: 10_001 }), Code.InvalidArgument, /limit/);
  const backwards = create(FilterSchema, { sinceUnixUs: 20n, untilUnixUs: 10n });
  await rejectsWith(t, peer.client.queryInvocations({ filter: backwards }), Code.InvalidArgument, /since_unix_us/);
  await rejectsWith(t, peer.client.summarize({ filter: backwards }), Code.InvalidArgument, /since_unix_us/);
  await rejectsWith(t, peer.client.queryContainerEvents({ filter: backwards }), Code.InvalidArgument, /since_unix_us/);
  await rejectsWith(t, peer.client.queryInvocations({ afterInvocationId: "never-stored" }), Code.InvalidArgument, /after_invocation_id/);
  // Limits at the bounds are fine; 0 means the default.
  await t.notThrowsAsync(peer.client.queryInvocations({ limit: 10_000 }));
  t.true((await peer.client.queryInvocations({ limit: 0 })).records.length > 0);
});

test.serial("paging through QueryInvocations", async (t) => {
  const fn = "paged";
  await peer.client.recordInvocations({
    records: Array.from({ length: 7 }, (_, i) => invocation(`page-${i}`, { function: fn, receivedAtUnixUs: BigInt(T0_US + i) })),
  });
  const filter = create(FilterSchema, { function: fn });
  const first = await ids(peer.client.queryInvocations({ filter, limit: 3 }));
  const second = await ids(peer.client.queryInvocations({ filter, limit: 3, afterInvocationId: first[2] }));
  const third = await ids(peer.client.queryInvocations({ filter, limit: 3, afterInvocationId: second[2] }));
  t.deepEqual([...first, ...second, ...third], ["page-0", "page-1", "page-2", "page-3", "page-4", "page-5", "page-6"]);
  t.deepEqual(await ids(peer.client.queryInvocations({ invocationId: "page-4" })), ["page-4"]);
});

test.serial("Summarize combines invocation figures with container usage", async (t) => {
  const fn = "summed";
  await peer.client.recordInvocations({
    records: [
      invocation("s-cold", { function: fn, startKind: StartKind.COLD, timings: timings({ startup: 900, total: 1000 }) }),
      invocation("s-warm", { function: fn, startKind: StartKind.WARM, timings: timings({ total: 100 }) }),
    ],
  });
  containers.recordEvents([
    containerEvent(1, T0_US, ContainerState.STARTING, { function: fn, containerId: "s1", memoryMb: 128 }),
    containerEvent(2, T0_US + 3 * SECOND_US, ContainerState.REMOVED, { function: fn, containerId: "s1", memoryMb: 128 }),
    containerEvent(3, T0_US + SECOND_US, ContainerState.STARTING, { function: fn, containerId: "h1", role: ContainerRole.HELPER, startKind: StartKind.HELPER, memoryMb: 0 }),
    containerEvent(4, T0_US + 2 * SECOND_US, ContainerState.REMOVED, { function: fn, containerId: "h1", role: ContainerRole.HELPER, memoryMb: 0 }),
  ]);
  // s1 measured at 64 MB for its last 2 s.
  samples.recordSamples([create(ContainerUsageSampledSchema, { nodeId: "node-1", atUnixUs: BigInt(T0_US + SECOND_US), containers: [{ containerId: "s1", rssBytes: 64n * 1024n * 1024n, memoryMb: 128 }] })]);
  clock.set(T0_US / 1000 + 60_000);
  const s = await peer.client.summarize({ filter: { function: fn } });
  t.is(s.invocations, 2n);
  t.is(s.coldStarts, 1n);
  t.is(s.errors, 0n);
  t.deepEqual(
    s.latency.map((l) => [l.startKind, l.count, l.p50Us]),
    [
      [StartKind.UNSPECIFIED, 2n, 100n],
      [StartKind.COLD, 1n, 1000n],
      [StartKind.WARM, 1n, 100n],
    ],
  );
  t.is(s.latency[1].meanStartupUs, 900n);
  t.is(s.containersCreated, 2n);
  t.is(s.memoryMbSeconds, 3 * 128);
  t.is(s.rssMbSeconds, 2 * 64);
  t.is(s.helperStarts, 1n);
  t.is(s.prewarmStarts, 0n);
});

test.serial("QueryContainerEvents by container", async (t) => {
  const { events } = await peer.client.queryContainerEvents({ containerId: "s1" });
  t.deepEqual(
    events.map((e) => e.state),
    [ContainerState.STARTING, ContainerState.REMOVED],
  );
});

test.serial("after the writer closes, RecordInvocations is Unavailable", async (t) => {
  invocationWriter.close();
  await rejectsWith(t, peer.client.recordInvocations({ records: [invocation("late")] }), Code.Unavailable);
});
