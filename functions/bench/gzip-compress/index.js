// gzip-compress: generates `work` MB of seeded log-like text, gzips it, gunzips it back, checks the round trip.
const { createHash } = require("node:crypto");
const pako = require("pako");

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

const WORDS = "GET POST PUT DELETE /api/v1/users /api/v1/orders /static/app.js 200 201 204 301 404 500 ms bytes user session cache hit miss".split(" ");

function generate(bytes, random) {
  const lines = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    let line = `${1700000000000 + i * 37} req=${(random() * 1e9) | 0}`;
    for (let w = 0; w < 8; w++) line += " " + WORDS[(random() * WORDS.length) | 0];
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join("\n"), "latin1");
}

exports.main = async function main(params) {
  const { work, random } = args(params, 8);
  const input = generate(Math.round(work * 1024 * 1024), random);
  const gz = pako.gzip(input, { level: 6 });
  const back = pako.ungzip(gz);
  if (Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.length), input) !== 0) throw new Error("gzip round trip differs");
  return { inputBytes: input.length, gzipBytes: gz.length, ratio: Number((gz.length / input.length).toFixed(4)), checksum: checksum(gz) };
};
