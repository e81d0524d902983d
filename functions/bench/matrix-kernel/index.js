// matrix-kernel: LU factorisation with partial pivoting of a seeded dense n x n matrix, n = round(200*cbrt(work))
// (so the O(n^3) cost grows linearly with work), then solves Ax = b and reports the residual. No dependencies.
const { createHash } = require("node:crypto");

// Seeded PRNG (mulberry32): the inputs are generated here, so payloads stay tiny and results are checkable.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function args(params, maxWork) {
  const work = Number(params.work ?? 1);
  if (!Number.isFinite(work) || work <= 0) throw new TypeError("params.work must be a positive number");
  if (work > maxWork) throw new RangeError(`params.work must be at most ${maxWork}`);
  const seed = Number.isInteger(params.seed) ? params.seed : 1;
  return { work, seed, random: rng(seed) };
}
const checksum = (data) => createHash("sha256").update(data).digest("hex").slice(0, 16);

/** In-place LU of the row-major n x n matrix `a`; returns the row permutation. */
function lu(a, n) {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[p * n + k])) p = i;
    if (a[p * n + k] === 0) throw new Error("matrix is singular");
    if (p !== k) {
      for (let j = 0; j < n; j++) [a[k * n + j], a[p * n + j]] = [a[p * n + j], a[k * n + j]];
      [perm[k], perm[p]] = [perm[p], perm[k]];
    }
    const pivot = a[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] /= pivot);
      if (f === 0) continue;
      const ri = i * n, rk = k * n;
      for (let j = k + 1; j < n; j++) a[ri + j] -= f * a[rk + j];
    }
  }
  return perm;
}

function solve(a, n, perm, b) {
  const x = Float64Array.from(perm, (p) => b[p]);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) x[i] -= a[i * n + j] * x[j];
  for (let i = n - 1; i >= 0; i--) {
    for (let j = i + 1; j < n; j++) x[i] -= a[i * n + j] * x[j];
    x[i] /= a[i * n + i];
  }
  return x;
}

exports.main = async function main(params) {
  const { work, random } = args(params, 120);
  const n = Math.max(4, Math.round(200 * Math.cbrt(work)));
  const original = Float64Array.from({ length: n * n }, () => random() * 2 - 1);
  for (let i = 0; i < n; i++) original[i * n + i] += n / 4; // well conditioned
  const b = Float64Array.from({ length: n }, () => random());
  const a = Float64Array.from(original);
  const perm = lu(a, n);
  const x = solve(a, n, perm, b);
  let residual = 0;
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < n; j++) s += original[i * n + j] * x[j];
    residual = Math.max(residual, Math.abs(s));
  }
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += Math.log(Math.abs(a[i * n + i]));
  return { n, flops: Math.round((2 * n ** 3) / 3), residual, logDet: Number(logDet.toFixed(6)), checksum: checksum(Buffer.from(x.buffer)) };
};
