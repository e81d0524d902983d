// inCompletionOrder: a batch's results streamed as each settles, not in the order they were started.
import test from "ava";
import { inCompletionOrder } from "../../common/completion-order.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test("values come in the order their promises settle", async (t) => {
  const [a, b, c] = [deferred<string>(), deferred<string>(), deferred<string>()];
  const seen: string[] = [];
  const reading = (async () => {
    for await (const v of inCompletionOrder([a.promise, b.promise, c.promise])) seen.push(v);
  })();
  c.resolve("c");
  await new Promise((r) => setImmediate(r));
  t.deepEqual(seen, ["c"], "the last started is yielded first when it is done first, before the others settle");
  a.resolve("a");
  b.resolve("b");
  await reading;
  t.deepEqual(seen, ["c", "a", "b"]);
});

test("a rejection is thrown where it settled, after the values that came before it", async (t) => {
  const [a, b] = [deferred<number>(), deferred<number>()];
  const seen: number[] = [];
  const reading = (async () => {
    for await (const v of inCompletionOrder([a.promise, b.promise])) seen.push(v);
  })();
  b.resolve(2);
  await new Promise((r) => setImmediate(r));
  a.reject(new Error("member a broke"));
  await t.throwsAsync(reading, { message: "member a broke" });
  t.deepEqual(seen, [2]);
});

test("no promises: nothing to yield", async (t) => {
  const seen: unknown[] = [];
  for await (const v of inCompletionOrder([])) seen.push(v);
  t.deepEqual(seen, []);
});
