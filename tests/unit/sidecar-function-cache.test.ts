import test from "ava";
import { DEFAULT_CACHE_ENTRIES, FunctionCache } from "../../sidecar/worker/function-cache.js";

test("holds at most maxEntries, dropping the least recently used", (t) => {
  const cache = new FunctionCache<number>(3);
  cache.set("a", 1).set("b", 2).set("c", 3);
  t.is(cache.get("a"), 1); // a is now the most recent; b is the oldest
  cache.set("d", 4);
  t.is(cache.size, 3);
  t.false(cache.has("b"));
  t.deepEqual([...cache.keys()], ["c", "a", "d"]);
});

test("has() does not count as a use; set() of an existing key refreshes it", (t) => {
  const cache = new FunctionCache<number>(2);
  cache.set("a", 1).set("b", 2);
  t.true(cache.has("a"));
  cache.set("c", 3);
  t.false(cache.has("a"));
  cache.set("b", 20).set("d", 4);
  t.deepEqual([...cache.keys()], ["b", "d"]);
  t.is(cache.get("b"), 20);
});

test("the default bound is 256 entries", (t) => {
  const cache = new FunctionCache();
  for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
  t.is(DEFAULT_CACHE_ENTRIES, 256);
  t.is(cache.size, 256);
  t.is(cache.get("k743"), undefined);
  t.is(cache.get("k744"), 744);
});

test("keys must be strings", (t) => {
  const cache = new FunctionCache();
  t.throws(() => cache.set({} as unknown as string, 1), { instanceOf: TypeError });
  t.throws(() => cache.get(1 as unknown as string), { instanceOf: TypeError });
  t.true(cache.delete("") === false);
  t.throws(() => new FunctionCache(0), { instanceOf: RangeError });
});
