import * as path from "node:path";
import test from "ava";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import { containerEventProblem, ContainerEventStore } from "../../services/trace-store/container-event-store.js";
import { openDatabase, type Db } from "../../services/trace-store/database.js";
import { everything } from "../../services/trace-store/record-filter.js";
import { containerEvent, removeTempDir, SECOND_US, T0_US, tempDir } from "./trace-store-fixtures.js";

const dir = tempDir("trace-store-containers");
const opened: Db[] = [];
let fileNumber = 0;

function freshStore(): { store: ContainerEventStore; db: Db } {
  const db = openDatabase(path.join(dir, `store-${++fileNumber}.db`));
  opened.push(db);
  return { store: new ContainerEventStore(db), db };
}

test.after.always(() => {
  for (const db of opened) if (db.open) db.close();
  removeTempDir(dir);
});

const at = (seconds: number) => T0_US + seconds * SECOND_US;
const FAR_FUTURE = at(1_000_000);

interface LifetimeRow {
  function: string;
  memory_mb: number;
  created_at_unix_us: number;
  removed_at_unix_us: number | null;
  last_event_at_unix_us: number;
}
const lifetime = (db: Db, containerId: string) =>
  db.prepare("SELECT * FROM container_lifetimes WHERE container_id = ?").get(containerId) as LifetimeRow | undefined;
const limits = (db: Db, containerId: string) =>
  db.prepare("SELECT from_unix_us AS fromUs, memory_mb AS memoryMb FROM container_memory_limits WHERE container_id = ? ORDER BY from_unix_us").all(containerId);

test("a container's events make one lifetime from its first event to REMOVED; a redelivery changes nothing", (t) => {
  const { store, db } = freshStore();
  const idle = containerEvent(2, at(2), ContainerState.IDLE, { previousState: ContainerState.STARTING });
  t.true(store.recordEvent(containerEvent(1, at(1), ContainerState.STARTING, { reason: "cold-start" })));
  t.true(store.recordEvent(idle));
  t.true(store.recordEvent(containerEvent(3, at(3), ContainerState.BUSY)));
  t.false(store.recordEvent(idle), "a redelivered event is not stored twice");
  t.true(store.recordEvent(containerEvent(4, at(5), ContainerState.IDLE)));
  t.true(store.recordEvent(containerEvent(5, at(9), ContainerState.REMOVING)));
  t.true(store.recordEvent(containerEvent(6, at(10), ContainerState.REMOVED, { reason: "keep-alive expired" })));

  t.is(store.query({ filter: everything, limit: 100 }).length, 6);
  t.like(lifetime(db, "c1"), { function: "resize", memory_mb: 256, created_at_unix_us: at(1), removed_at_unix_us: at(10), last_event_at_unix_us: at(10) });
  t.deepEqual(limits(db, "c1"), [{ fromUs: at(1), memoryMb: 256 }], "an unchanged limit adds no row");
  t.deepEqual(store.usage(everything, FAR_FUTURE), { containersCreated: 1, memoryMbSeconds: 9 * 256, helperStarts: 0, prewarmStarts: 0 });
});

test("a zygote lent as a smaller helper is charged per limit and takes the helper's function", (t) => {
  const { store, db } = freshStore();
  const z = { containerId: "z1", function: "resize", memoryMb: 512 };
  store.recordEvents([
    containerEvent(1, at(0), ContainerState.STARTING, z),
    containerEvent(2, at(1), ContainerState.IDLE, { ...z, role: ContainerRole.ZYGOTE }),
    containerEvent(3, at(4), ContainerState.BUSY, { ...z, role: ContainerRole.HELPER, function: "thumb", memoryMb: 256 }),
    containerEvent(4, at(6), ContainerState.IDLE, { ...z, role: ContainerRole.HELPER, function: "", memoryMb: 0 }),
    containerEvent(5, at(8), ContainerState.REMOVED, { ...z, role: ContainerRole.HELPER, function: "thumb", memoryMb: 256 }),
  ]);
  t.like(lifetime(db, "z1"), { function: "thumb", memory_mb: 256, created_at_unix_us: at(0), removed_at_unix_us: at(8) });
  t.deepEqual(limits(db, "z1"), [
    { fromUs: at(0), memoryMb: 512 },
    { fromUs: at(4), memoryMb: 256 },
  ]);
  const all = store.usage(everything, FAR_FUTURE);
  t.is(all.memoryMbSeconds, 4 * 512 + 4 * 256);
  // The window [2 s, 5 s) holds 2 s at 512 MB and 1 s at 256 MB.
  t.is(store.usage({ function: null, sinceUs: at(2), untilUs: at(5) }, FAR_FUTURE).memoryMbSeconds, 2 * 512 + 256);
  // Lifetimes belong to their latest function.
  t.is(store.usage({ function: "resize", sinceUs: null, untilUs: null }, FAR_FUTURE).containersCreated, 0);
  t.is(store.usage({ function: "thumb", sinceUs: null, untilUs: null }, FAR_FUTURE).containersCreated, 1);
});

test("events arriving out of order: the lifetime starts at the earliest and the latest names the function", (t) => {
  const { store, db } = freshStore();
  store.recordEvent(containerEvent(3, at(9), ContainerState.REMOVED, { function: "thumb" }));
  store.recordEvent(containerEvent(1, at(1), ContainerState.STARTING, { function: "resize" }));
  t.like(lifetime(db, "c1"), { function: "thumb", created_at_unix_us: at(1), removed_at_unix_us: at(9), last_event_at_unix_us: at(9) });
  t.is(store.usage(everything, FAR_FUTURE).memoryMbSeconds, 8 * 256);
});

test("containers created in the window, and living containers charged until now", (t) => {
  const { store } = freshStore();
  store.recordEvents([
    containerEvent(1, at(0), ContainerState.STARTING, { containerId: "old" }),
    containerEvent(2, at(10), ContainerState.STARTING, { containerId: "new", memoryMb: 100 }),
    containerEvent(3, at(12), ContainerState.REMOVED, { containerId: "old" }),
  ]);
  const window = { function: null, sinceUs: at(5), untilUs: at(20) };
  // "old" is charged 5..12 at 256 MB, "new" from 10 until now (15) at 100 MB.
  t.like(store.usage(window, at(15)), { containersCreated: 1, memoryMbSeconds: 7 * 256 + 5 * 100 });
  t.is(store.usage({ function: null, sinceUs: at(0), untilUs: at(10) }, at(15)).containersCreated, 1);
});

test("a restarted node-manager's sequence starting again is not taken for a duplicate", (t) => {
  const { store } = freshStore();
  t.true(store.recordEvent(containerEvent(1, at(1), ContainerState.STARTING)));
  t.true(store.recordEvent(containerEvent(1, at(100), ContainerState.STARTING, { containerId: "c2" })));
  t.deepEqual(store.recordEvents([containerEvent(2, at(101), ContainerState.IDLE, { containerId: "c2" }), containerEvent(2, at(101), ContainerState.IDLE, { containerId: "c2" })]), [true, false]);
});

test("queries by node, container, function, window and limit, in time order, with 64-bit fields intact", (t) => {
  const { store } = freshStore();
  const big = 2n ** 62n + 1n;
  store.recordEvents([
    containerEvent(2, at(2), ContainerState.IDLE, { containerId: "a" }),
    containerEvent(1, at(1), ContainerState.STARTING, { containerId: "a", rssBytes: big }),
    containerEvent(1, at(1), ContainerState.STARTING, { nodeId: "node-2", containerId: "b", function: "thumb", sequence: big }),
    containerEvent(3, at(3), ContainerState.REMOVED, { containerId: "a" }),
  ]);
  const key = (q: Parameters<ContainerEventStore["query"]>[0]) => store.query(q).map((e) => `${e.nodeId}/${e.sequence}`);
  t.deepEqual(key({ filter: everything, limit: 100 }), ["node-1/1", `node-2/${big}`, "node-1/2", "node-1/3"]);
  t.deepEqual(key({ filter: everything, nodeId: "node-2", limit: 100 }), [`node-2/${big}`]);
  t.deepEqual(key({ filter: everything, containerId: "a", limit: 2 }), ["node-1/1", "node-1/2"]);
  t.deepEqual(key({ filter: { function: "thumb", sinceUs: null, untilUs: null }, limit: 100 }), [`node-2/${big}`]);
  t.deepEqual(key({ filter: { function: null, sinceUs: at(2), untilUs: at(3) }, limit: 100 }), ["node-1/2"]);
  const [first] = store.query({ filter: everything, containerId: "a", limit: 1 });
  t.is(first.rssBytes, big);
  t.is(first.atUnixUs, BigInt(at(1)));
  t.is(first.state, ContainerState.STARTING);
  t.is(first.role, ContainerRole.EXECUTOR);
  t.is(first.memoryMb, 256);
});

test("events that cannot be stored are named, and one in a batch fails the whole batch", (t) => {
  t.is(containerEventProblem(containerEvent(1, at(1), ContainerState.IDLE)), undefined);
  t.regex(containerEventProblem(containerEvent(1, at(1), ContainerState.IDLE, { nodeId: "" }))!, /node_id/);
  t.regex(containerEventProblem(containerEvent(1, at(1), ContainerState.IDLE, { containerId: "" }))!, /container_id/);
  t.regex(containerEventProblem(containerEvent(1, 0, ContainerState.IDLE))!, /at_unix_us/);
  t.regex(containerEventProblem(containerEvent(1, at(1), ContainerState.IDLE, { sequence: 2n ** 64n - 1n }))!, /sequence/);

  const { store } = freshStore();
  t.throws(() => store.recordEvents([containerEvent(1, at(1), ContainerState.IDLE), containerEvent(2, at(2), ContainerState.IDLE, { containerId: "" })]), { instanceOf: RangeError });
  t.is(store.query({ filter: everything, limit: 10 }).length, 0);
});

test("start kinds and package sets are stored and returned as they came", (t) => {
  const { store } = freshStore();
  const packages = ["@img/sharp-linux-x64@0.33.1", "lodash@4.17.21", "sharp@0.33.1"];
  store.recordEvents([
    containerEvent(1, at(1), ContainerState.IDLE, { role: ContainerRole.ZYGOTE, function: "", packages }),
    containerEvent(2, at(2), ContainerState.STARTING, { role: ContainerRole.HELPER, startKind: StartKind.HELPER, packages, previousState: ContainerState.IDLE }),
    containerEvent(3, at(3), ContainerState.STARTING, { containerId: "plain", startKind: StartKind.COLD }),
  ]);
  const got = store.query({ filter: everything, limit: 10 });
  t.deepEqual(
    got.map((e) => [e.containerId, e.startKind, e.packages]),
    [
      ["c1", StartKind.UNSPECIFIED, packages],
      ["c1", StartKind.HELPER, packages],
      ["plain", StartKind.COLD, []],
    ],
  );
});

test("helper forks and stem-cell claims are counted by the STARTING events of their kind, in the window, per function", (t) => {
  const { store, db } = freshStore();
  const lend = (seq: number, s: number, containerId: string, fn: string, startKind: StartKind) =>
    containerEvent(seq, at(s), ContainerState.STARTING, { containerId, function: fn, startKind, role: startKind === StartKind.HELPER ? ContainerRole.HELPER : ContainerRole.EXECUTOR, previousState: ContainerState.IDLE });
  store.recordEvents([
    lend(1, 1, "z1", "resize", StartKind.HELPER),
    // The same fork's IDLE event does not count again, nor does a redelivery.
    containerEvent(2, at(2), ContainerState.IDLE, { containerId: "z1", startKind: StartKind.HELPER, role: ContainerRole.HELPER }),
    lend(1, 1, "z1", "resize", StartKind.HELPER),
    lend(3, 3, "z2", "thumb", StartKind.HELPER),
    lend(4, 4, "s1", "resize", StartKind.PREWARM),
    lend(5, 5, "s2", "resize", StartKind.PREWARM),
    containerEvent(6, at(6), ContainerState.STARTING, { containerId: "cold", startKind: StartKind.COLD }),
  ]);
  t.like(store.usage(everything, FAR_FUTURE), { helperStarts: 2, prewarmStarts: 2 });
  t.like(store.usage({ function: "resize", sinceUs: null, untilUs: null }, FAR_FUTURE), { helperStarts: 1, prewarmStarts: 2 });
  t.like(store.usage({ function: null, sinceUs: at(3), untilUs: at(5) }, FAR_FUTURE), { helperStarts: 1, prewarmStarts: 1 });
  // The count reads the partial index, not every event.
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN SELECT start_kind, COUNT(*) AS n FROM container_events WHERE at_unix_us >= 0 AND state = ${ContainerState.STARTING} AND start_kind IN (${StartKind.HELPER}, ${StartKind.PREWARM}) GROUP BY start_kind`)
    .all() as { detail: string }[];
  t.true(plan.some((row) => row.detail.includes("container_events_lent")), JSON.stringify(plan));
});
