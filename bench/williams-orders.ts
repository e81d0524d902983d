// The order of the contenders in each round of a side-by-side bench: a Williams design, in which every
// contender directly follows every other one equally often, so that what one leaves behind (exports,
// garbage) falls on each of the others alike, not always on the same neighbour.

/**
 * Rows of the indices 0..n-1. Even n: n rows, the first 0, 1, n-1, 2, n-2, ..., each next one shifted by
 * one (mod n). Odd n: those n rows and their reverses.
 */
export function williamsOrders(n: number): number[][] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  const first = [0];
  for (let i = 1; i < n; i++) first.push(i % 2 === 1 ? (i + 1) / 2 : n - i / 2);
  const rows = Array.from({ length: n }, (_, r) => first.map((x) => (x + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}
