// Strict parsing of numeric CSV cells. Returns undefined instead of throwing so that the caller, which
// knows the file, line and column, builds the error; hand-rolled for integers because the per-minute
// file has 1440 of them per row.

/** A non-negative decimal integer without sign, exponent or fraction ("0", "17"), or undefined. */
export function parseCount(cell: string): number | undefined {
  const length = cell.length;
  if (length === 0 || length > 15) return undefined; // 15 digits stay below 2^53
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = cell.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value;
}

// Plain decimals with an optional exponent, as written by pandas/R ("8.0", "0.134", "1e-05").
const NON_NEGATIVE_DECIMAL = /^\+?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite non-negative decimal number, or undefined (also for "NaN", "inf", "-1", ""). */
export function parseNonNegativeDecimal(cell: string): number | undefined {
  if (!NON_NEGATIVE_DECIMAL.test(cell)) return undefined;
  const value = Number(cell);
  return Number.isFinite(value) ? value : undefined;
}
