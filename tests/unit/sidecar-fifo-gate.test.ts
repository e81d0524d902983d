import test from "ava";
import { FifoGate } from "../../sidecar/fifo-gate.js";

test("at most limit holders; waiters are served in arrival order", async (t) => {
  const gate = new FifoGate(2);
  t.true(gate.tryAcquire());
  t.true(gate.tryAcquire());
  t.false(gate.tryAcquire());
  const order: string[] = [];
  const a = gate.wait(1000).then((ok) => order.push(`a:${ok}`));
  const b = gate.wait(1000).then((ok) => order.push(`b:${ok}`));
  t.is(gate.waiting, 2);
  // A newcomer may not overtake the queue even when a slot frees up.
  gate.release();
  t.false(gate.tryAcquire());
  gate.release();
  await Promise.all([a, b]);
  t.deepEqual(order, ["a:true", "b:true"]);
  t.is(gate.active, 2);
});

test("a waiter gives up at its timeout and leaves the queue", async (t) => {
  const gate = new FifoGate(1);
  t.true(gate.tryAcquire());
  t.false(await gate.wait(20));
  t.is(gate.waiting, 0);
  gate.release();
  t.is(gate.active, 0);
});

test("raising the limit admits waiters at once", async (t) => {
  const gate = new FifoGate(1);
  gate.tryAcquire();
  const w = gate.wait(1000);
  gate.setLimit(2);
  t.true(await w);
  t.is(gate.active, 2);
});
