// Nearest-rank percentiles: the value at rank ceil(p/100 · n) of the ascending values, always one of the
// observed values (never interpolated). Sorting first is the caller's job only through sortedCopy, so
// a percentile can never be taken over an unsorted list (the ProPack scripts' mistake).

/** The median: the middle value, or the mean of the two middle values of an even count; NaN for none. */
export function median(values: ArrayLike<number>): number {
  const s = sortedCopy(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** An ascending copy of the values (numeric order, not the default string order of Array#sort). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) of ascending values by nearest rank; 0 when there are no values.
 * p = 0 gives the minimum and p = 100 the maximum.
 */
export function nearestRank(sortedAscending: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const n = sortedAscending.length;
  if (n === 0) return 0;
  // p·n/100 is exact for integer p; the epsilon keeps e.g. 99.9·1000/100 from rounding up a rank.
  const rank = Math.min(n, Math.max(1, Math.ceil((p * n) / 100 - 1e-9)));
  return sortedAscending[rank - 1];
}
