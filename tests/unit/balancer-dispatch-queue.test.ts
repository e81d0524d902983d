// The dispatch queue's windows and bounds, and the batching policies, driven by time given as arguments.
import test from "ava";
import { AdaptiveWindow, FixedWindow } from "../../services/balancer/dispatch/batch-window.js";
import { dispatchSetup, krakenBatchSize } from "../../services/balancer/dispatch/batching-policy.js";
import { DispatchQueue, QueueFullError } from "../../services/balancer/dispatch/dispatch-queue.js";

const limits = (maxBatchSize: number, perContainer: number, maxQueued = 1000) => ({ maxBatchSize, perContainer, maxQueued });

test("a fixed window holds the first arrival until the window passes, gathering what comes meanwhile", (t) => {
  const q = new DispatchQueue<string>(new FixedWindow(10), limits(100, 100));
  q.offer("a", 1000);
  q.offer("b", 1004);
  t.is(q.nextDueAt(), 1010);
  t.deepEqual(q.take(1009), [], "not due a millisecond early");
  q.offer("c", 1009);
  const [batch, ...rest] = q.take(1010);
  t.deepEqual(batch.members, ["a", "b", "c"]);
  t.is(batch.waitedMs, 10);
  t.is(rest.length, 0);
  t.is(q.length, 0);
  t.is(q.nextDueAt(), undefined);
  q.offer("d", 1011);
  t.is(q.nextDueAt(), 1021, "the next batch's window starts at its own first arrival");
});

test("a full batch is due at once, and the rest opens the next batch on its own first arrival's clock", (t) => {
  const q = new DispatchQueue<number>(new FixedWindow(50), limits(3, 3));
  for (let i = 0; i < 7; i++) q.offer(i, 100 + i);
  t.is(q.nextDueAt(), 100, "full already");
  const batches = q.take(106);
  t.deepEqual(
    batches.map((b) => b.members),
    [
      [0, 1, 2],
      [3, 4, 5],
    ],
  );
  t.is(q.length, 1);
  t.is(q.nextDueAt(), 156, "member 6 arrived at 106: due 50 ms later");
  t.deepEqual(q.take(156)[0].members, [6]);
});

test("a batch is cut into container pieces of the packing degree; overflow goes to more containers", (t) => {
  const q = new DispatchQueue<number>(new FixedWindow(0), limits(10, 4));
  for (let i = 0; i < 10; i++) q.offer(i, 0);
  const [b] = q.take(0);
  t.deepEqual(b.pieces, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
});

test("over the queue's bound an offer is refused, and nothing already queued is lost", (t) => {
  const q = new DispatchQueue<number>(new FixedWindow(100), limits(1000, 10, 3));
  q.offer(1, 0);
  q.offer(2, 0);
  q.offer(3, 0);
  const err = t.throws(() => q.offer(4, 0), { instanceOf: QueueFullError });
  t.regex(err.message, /3 invocations are waiting.*bound is 3/);
  t.deepEqual(q.take(100)[0].members, [1, 2, 3]);
  q.offer(4, 101);
  t.is(q.length, 1, "room again once dispatched");
});

test("drain hands out everything at once, in batches within the size bound", (t) => {
  const q = new DispatchQueue<number>(new FixedWindow(1000), limits(2, 2));
  for (let i = 0; i < 5; i++) q.offer(i, 0);
  t.deepEqual(
    q.drain(5).map((b) => b.members),
    [[0, 1], [2, 3], [4]],
  );
  t.is(q.nextDueAt(), undefined);
});

test("the adaptive window widens while batches gather company, halves when they close alone, and is zero after a pause", (t) => {
  const w = new AdaptiveWindow({ stepMs: 2, maxMs: 16, idleResetMs: 1000 });
  t.is(w.currentMs, 0, "idle: no wait");
  const widths: number[] = [];
  for (let i = 0; i < 6; i++) {
    w.arrived(i);
    w.closed(5);
    widths.push(w.currentMs);
  }
  t.deepEqual(widths, [2, 4, 8, 16, 16, 16], "doubling from the step, capped");
  w.closed(1);
  t.is(w.currentMs, 8);
  w.closed(1);
  w.closed(1);
  t.is(w.currentMs, 2);
  w.closed(1);
  t.is(w.currentMs, 0, "below the step a halving goes to zero");
  w.closed(3);
  w.closed(3);
  t.is(w.currentMs, 4);
  w.arrived(10 + 1000);
  t.is(w.currentMs, 0, "no arrival for idleResetMs: zero at once");
  t.throws(() => new AdaptiveWindow({ stepMs: 0, maxMs: 1, idleResetMs: 1 }), { instanceOf: RangeError });
});

test("under a burst the adaptive queue batches more per dispatch; a lone arrival afterwards waits for nothing", (t) => {
  const q = new DispatchQueue<number>(new AdaptiveWindow({ stepMs: 2, maxMs: 32, idleResetMs: 500 }), limits(64, 8));
  let now = 0;
  const sizes: number[] = [];
  // A steady 1 arrival per ms for 200 ms; the owner takes at every due time.
  for (let i = 0; i < 200; i++, now++) {
    q.offer(i, now);
    for (const b of q.take(now)) sizes.push(b.members.length);
  }
  for (const b of q.drain(now)) sizes.push(b.members.length);
  t.is(
    sizes.reduce((a, b) => a + b, 0),
    200,
    "every invocation dispatched once",
  );
  t.true(sizes[0] === 1, "the first arrival of an idle function goes at once");
  t.true(Math.max(...sizes) >= 16, `batches grew with the load: ${sizes.join(",")}`);
  now += 1000;
  q.offer(999, now);
  t.is(q.nextDueAt(), now, "after the pause the window is zero again");
});

test("the batching policies: vanilla one by one, window-only unbounded in one container, kraken's size, ours bounded by the degree", (t) => {
  const inputs = { windowMs: 10, adaptive: { stepMs: 2, maxMs: 50, idleResetMs: 1000 }, maxBatchSize: 64, maxQueued: 10_000, containerConcurrency: 16 };
  const vanilla = dispatchSetup("vanilla", inputs);
  t.deepEqual(vanilla.limits, { maxBatchSize: 1, perContainer: 1, maxQueued: 10_000 });
  t.is(vanilla.window.currentMs, 0);
  const windowOnly = dispatchSetup("window-only", inputs);
  t.is(windowOnly.limits.maxBatchSize, Infinity);
  const q = new DispatchQueue<number>(windowOnly.window, windowOnly.limits);
  for (let i = 0; i < 500; i++) q.offer(i, 0);
  const [one] = q.take(10);
  t.is(one.pieces.length, 1, "FaaSBatch as published: one container takes the whole window's batch");
  t.is(dispatchSetup("kraken", { ...inputs, sloMs: 100, meanDurationMs: 30 }).limits.maxBatchSize, 3);
  const ours = dispatchSetup("faasbatch", { ...inputs, packingDegree: 8 });
  t.deepEqual(ours.limits, { maxBatchSize: 64, perContainer: 8, maxQueued: 10_000 });
  t.is(dispatchSetup("faasbatch", { ...inputs, packingDegree: 100 }).limits.perContainer, 16, "never past the container's concurrency");
});

test("kraken's batch size is guarded against zero both ways", (t) => {
  t.is(krakenBatchSize(100, 30), 3);
  t.is(krakenBatchSize(100, 0), 1, "a zero mean does not divide");
  t.is(krakenBatchSize(10, 30), 1, "an SLO below the mean still batches one");
  t.is(krakenBatchSize(undefined, 30), 1);
  t.is(krakenBatchSize(100, undefined), 1, "no mean measured yet");
});

test("bad limits are refused", (t) => {
  t.throws(() => new DispatchQueue(new FixedWindow(0), limits(0, 1)), { message: /maxBatchSize/ });
  t.throws(() => new DispatchQueue(new FixedWindow(0), limits(1, 1.5)), { message: /perContainer/ });
  t.throws(() => new DispatchQueue(new FixedWindow(0), limits(1, 1, 0)), { message: /maxQueued/ });
  t.throws(() => new FixedWindow(-1), { instanceOf: RangeError });
});
