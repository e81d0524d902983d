import test from "ava";
import { williamsOrders } from "../../bench/williams-orders.js";

/** How often each ordered pair (a directly before b) occurs over the rows. */
function followers(rows: number[][]): Map<string, number> {
  const pairs = new Map<string, number>();
  for (const row of rows) for (let i = 1; i < row.length; i++) pairs.set(`${row[i - 1]}>${row[i]}`, (pairs.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
  return pairs;
}

for (const n of [2, 3, 4, 5, 6]) {
  test(`williamsOrders(${n}): every row a permutation, every ordered pair equally often`, (t) => {
    const rows = williamsOrders(n);
    t.is(rows.length, n % 2 === 0 ? n : 2 * n);
    for (const row of rows) t.deepEqual([...row].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    const pairs = followers(rows);
    t.is(pairs.size, n * (n - 1), "every ordered pair occurs");
    t.is(new Set(pairs.values()).size, 1, "and as often as every other");
  });
}

test("williamsOrders(4) is the textbook square; bad n is refused", (t) => {
  t.deepEqual(williamsOrders(4), [
    [0, 1, 3, 2],
    [1, 2, 0, 3],
    [2, 3, 1, 0],
    [3, 0, 2, 1],
  ]);
  t.deepEqual(williamsOrders(1), [[0], [0]]);
  t.throws(() => williamsOrders(0), { instanceOf: RangeError });
});
