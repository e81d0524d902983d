import test from "ava";
import { nearestRank, sortedCopy } from "../../common/percentiles.js";

test("sortedCopy sorts numerically and leaves its input alone", (t) => {
  const values = [10, 9, 100, 1, 25];
  t.deepEqual([...sortedCopy(values)], [1, 9, 10, 25, 100]);
  t.deepEqual(values, [10, 9, 100, 1, 25]);
});

test("nearest rank of the textbook example", (t) => {
  const sorted = sortedCopy([35, 20, 15, 50, 40]);
  t.is(nearestRank(sorted, 5), 15);
  t.is(nearestRank(sorted, 30), 20);
  t.is(nearestRank(sorted, 40), 20);
  t.is(nearestRank(sorted, 50), 35);
  t.is(nearestRank(sorted, 100), 50);
});

test("nearest rank on 1..100 is the value of that rank", (t) => {
  const sorted = sortedCopy(Array.from({ length: 100 }, (_, i) => i + 1));
  t.is(nearestRank(sorted, 50), 50);
  t.is(nearestRank(sorted, 95), 95);
  t.is(nearestRank(sorted, 99), 99);
});

test("nearest rank rounds the rank up, never interpolates", (t) => {
  const sorted = sortedCopy([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.is(nearestRank(sorted, 10), 1);
  t.is(nearestRank(sorted, 11), 2);
  t.is(nearestRank(sorted, 95), 10);
  t.is(nearestRank(sorted, 99), 10);
  t.is(nearestRank(sorted, 50), 5);
});

test("p0 is the minimum and p100 the maximum", (t) => {
  const sorted = sortedCopy([7, 3, 11]);
  t.is(nearestRank(sorted, 0), 3);
  t.is(nearestRank(sorted, 100), 11);
});

test("a fractional percentile whose rank is exact does not round up a rank", (t) => {
  const sorted = sortedCopy(Array.from({ length: 1000 }, (_, i) => i + 1));
  t.is(nearestRank(sorted, 99.9), 999);
});

test("no values give 0 and one value is every percentile", (t) => {
  t.is(nearestRank(new Float64Array(), 50), 0);
  const one = sortedCopy([42]);
  for (const p of [0, 1, 50, 99, 100]) t.is(nearestRank(one, p), 42);
});

test("percentiles outside [0, 100] are refused", (t) => {
  const sorted = sortedCopy([1, 2]);
  for (const p of [-1, 100.5, Number.NaN]) t.throws(() => nearestRank(sorted, p), { instanceOf: RangeError });
});
