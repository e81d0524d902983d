import * as path from "node:path";
import test from "ava";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { openDatabase, type Db } from "../../services/trace-store/database.js";
import { InvocationStore, UnknownInvocationError } from "../../services/trace-store/invocation-store.js";
import { everything } from "../../services/trace-store/record-filter.js";
import { invocation, removeTempDir, SECOND_US, T0_US, tempDir, timings } from "./trace-store-fixtures.js";

const dir = tempDir("trace-store-invocations");
const opened: Db[] = [];
let fileNumber = 0;

function freshStore(): { store: InvocationStore; db: Db; file: string } {
  const file = path.join(dir, `store-${++fileNumber}.db`);
  const db = openDatabase(file);
  opened.push(db);
  return { store: new InvocationStore(db), db, file };
}

test.after.always(() => {
  for (const db of opened) if (db.open) db.close();
  removeTempDir(dir);
});

const at = (seconds: number) => BigInt(T0_US + seconds * SECOND_US);

test("recording is idempotent by invocation_id", (t) => {
  const { store } = freshStore();
  t.is(store.record([invocation("a"), invocation("b")]), 2);
  t.is(store.record([invocation("a"), invocation("b")]), 0);
  t.is(store.record([invocation("b"), invocation("c"), invocation("c")]), 1);
  t.is(store.record([]), 0);
  t.is(store.query({ filter: everything, limit: 100 }).length, 3);
});

test("recordGroups answers each group with its own new records, in one transaction", (t) => {
  const { store } = freshStore();
  t.deepEqual(store.recordGroups([[invocation("a"), invocation("b")], [invocation("b"), invocation("c")], []]), [2, 1, 0]);
});

test("a record reads back as it was stored, with or without timings", (t) => {
  const { store } = freshStore();
  const full = invocation("full", {
    function: "thumb",
    nodeId: "node-2",
    containerId: "c9",
    startKind: StartKind.HELPER,
    status: InvocationStatus.FUNCTION_ERROR,
    timings: timings({ queued: 1, startup: 2, init: 3, exec: 4, total: 10 }),
    receivedAtUnixUs: at(1),
    batchId: "b1",
    batchSize: 3,
    errorType: "TypeError",
    errorMessage: "x is not a function",
    async: true,
  });
  const bare = invocation("bare", { timings: undefined, status: InvocationStatus.PLATFORM_ERROR, receivedAtUnixUs: at(2) });
  store.record([full, bare]);
  const [readFull, readBare] = store.query({ filter: everything, limit: 10 });
  t.deepEqual(readFull, full);
  t.deepEqual(readBare, bare);
  t.is(readBare.timings, undefined);
});

test("pages follow (received_at, invocation_id) order without gaps or repeats", (t) => {
  const { store } = freshStore();
  // 25 records, several sharing an instant, inserted in a scrambled order.
  const records = Array.from({ length: 25 }, (_, i) => invocation(`id-${String((i * 7) % 25).padStart(2, "0")}`, { receivedAtUnixUs: at(Math.floor(((i * 7) % 25) / 3)) }));
  store.record(records.reverse());
  const expected = records
    .map((r) => [r.receivedAtUnixUs, r.invocationId] as const)
    .sort(([ta, ia], [tb, ib]) => (ta !== tb ? (ta < tb ? -1 : 1) : ia < ib ? -1 : 1))
    .map(([, id]) => id);

  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = store.query({ filter: everything, limit: 10, afterInvocationId: after });
    seen.push(...page.map((r) => r.invocationId));
    if (page.length < 10) break;
    after = page[page.length - 1].invocationId;
  }
  t.deepEqual(seen, expected);
});

test("filters: function, window [since, until), one invocation", (t) => {
  const { store } = freshStore();
  store.record([
    invocation("r0", { receivedAtUnixUs: at(0) }),
    invocation("r1", { receivedAtUnixUs: at(1) }),
    invocation("t1", { function: "thumb", receivedAtUnixUs: at(1) }),
    invocation("r2", { receivedAtUnixUs: at(2) }),
  ]);
  const ids = (q: Parameters<InvocationStore["query"]>[0]) => store.query(q).map((r) => r.invocationId);
  t.deepEqual(ids({ filter: { function: "resize", sinceUs: null, untilUs: null }, limit: 10 }), ["r0", "r1", "r2"]);
  t.deepEqual(ids({ filter: { function: null, sinceUs: T0_US + SECOND_US, untilUs: T0_US + 2 * SECOND_US }, limit: 10 }), ["r1", "t1"]);
  t.deepEqual(ids({ filter: { function: "thumb", sinceUs: T0_US + SECOND_US, untilUs: null }, limit: 10 }), ["t1"]);
  t.deepEqual(ids({ filter: everything, limit: 10, invocationId: "r1" }), ["r1"]);
  t.deepEqual(ids({ filter: everything, limit: 10, invocationId: "nope" }), []);
  t.deepEqual(ids({ filter: everything, limit: 2, afterInvocationId: "r1" }), ["t1", "r2"]);
});

test("a cursor naming no stored invocation is an error, not an empty page", (t) => {
  const { store } = freshStore();
  store.record([invocation("a")]);
  t.throws(() => store.query({ filter: everything, limit: 10, afterInvocationId: "missing" }), { instanceOf: UnknownInvocationError });
});

test("summary numbers on known data", (t) => {
  const { store } = freshStore();
  const records = [
    ...[400, 100, 300, 200].map((total, i) => invocation(`cold-${i}`, { startKind: StartKind.COLD, timings: timings({ queued: 10, startup: 80, exec: total - 90, total }) })),
    ...[10, 20, 30].map((total, i) => invocation(`warm-${i}`, { startKind: StartKind.WARM, timings: timings({ exec: total, total }) })),
    invocation("failed", { startKind: StartKind.WARM, status: InvocationStatus.TIMEOUT, timings: timings({ exec: 40, total: 40 }) }),
    invocation("no-capacity", { startKind: StartKind.UNSPECIFIED, status: InvocationStatus.PLATFORM_ERROR, timings: undefined }),
    invocation("other-function", { function: "thumb", startKind: StartKind.COLD, timings: timings({ total: 9999 }) }),
  ];
  store.record(records);
  const s = store.summarize({ function: "resize", sinceUs: null, untilUs: null });
  t.is(s.invocations, 9);
  t.is(s.errors, 2);
  t.is(s.coldStarts, 4);
  const [all, cold, warm] = s.latency;
  // Timed totals: 10 20 30 40 100 200 300 400; p50 rank 4, p95 and p99 rank 8.
  t.like(all, { startKind: StartKind.UNSPECIFIED, count: 8, p50Us: 40, p95Us: 400, p99Us: 400 });
  t.like(cold, { startKind: StartKind.COLD, count: 4, p50Us: 200, p95Us: 400, meanQueuedUs: 10, meanStartupUs: 80, meanExecUs: 160 });
  t.like(warm, { startKind: StartKind.WARM, count: 4, p50Us: 20, p99Us: 40, meanExecUs: 25 });
  t.is(s.latency.length, 3);

  const window = store.summarize({ function: null, sinceUs: T0_US + 1, untilUs: null });
  t.is(window.invocations, 0);
});

test("stored records survive closing and reopening the file", (t) => {
  const { store, db, file } = freshStore();
  store.record([invocation("kept")]);
  db.close();
  const reopened = openDatabase(file);
  opened.push(reopened);
  t.deepEqual(
    new InvocationStore(reopened).query({ filter: everything, limit: 10 }).map((r) => r.invocationId),
    ["kept"],
  );
});
