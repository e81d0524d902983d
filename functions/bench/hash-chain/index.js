// hash-chain: a SHA-256 hash chain of `work`x100k links over a seeded 64-byte start (each link hashes the previous
// digest and its index), with an HMAC-SHA-512 checkpoint every 1000 links. node:crypto only.
const { createHash, createHmac } = require("node:crypto");

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

exports.main = async function main(params) {
  const { work, random } = args(params, 60);
  const links = Math.max(1, Math.round(work * 100000));
  let digest = Buffer.from(Array.from({ length: 64 }, () => (random() * 256) | 0));
  const index = Buffer.alloc(4);
  let checkpoint = Buffer.alloc(64);
  for (let i = 0; i < links; i++) {
    index.writeUInt32BE(i);
    digest = createHash("sha256").update(digest).update(index).digest();
    if (i % 1000 === 999) checkpoint = createHmac("sha512", checkpoint).update(digest).digest();
  }
  return { links, checkpoints: Math.floor(links / 1000), head: digest.toString("hex"), checksum: checksum(Buffer.concat([digest, checkpoint])) };
};
