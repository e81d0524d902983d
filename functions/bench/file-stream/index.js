// file-stream: writes `work`x4 MB of seeded log lines (copies of one seeded block) to a temporary file, gzips it
// file to file with zlib streams, gunzips it back and hashes both ends. I/O-bound: fs and zlib work on libuv's
// thread pool while main awaits (the JS thread is busy ~30% of the time).
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const zlib = require("node:zlib");
const { pipeline } = require("node:stream/promises");
const { Readable, Transform } = require("node:stream");

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

const LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"];

/** A seeded 256 KB block of log lines, written again and again (each copy numbered): the JS thread stays idle. */
function block(random) {
  let s = "";
  for (let i = 0; s.length < 262144; i++) {
    s += `${new Date(1704067200000 + i * 13).toISOString()} ${LEVELS[(random() * LEVELS.length) | 0]} req=${(random() * 1e9) | 0} took=${(random() * 500) | 0}ms path=/api/v1/items/${(random() * 1e4) | 0}\n`;
  }
  return Buffer.from(s, "latin1");
}
function* copies(bytes, data) {
  for (let written = 0, n = 0; written < bytes; n++) {
    const chunk = Buffer.concat([Buffer.from(`--- block ${n}\n`), data]).subarray(0, bytes - written);
    written += chunk.length;
    yield chunk;
  }
}

const MB = 1 << 20;
const hashing = (hash) => new Transform({ transform(chunk, _enc, done) { hash.update(chunk); done(null, chunk); } });

exports.main = async function main(params) {
  const { work, random } = args(params, 4); // its files (2x plain + gzip) must fit the container's 64 MB /tmp
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "file-stream-"));
  try {
    const plain = path.join(dir, "app.log"), gz = path.join(dir, "app.log.gz");
    const written = createHash("sha256");
    await pipeline(Readable.from(copies(Math.round(work * 4 * MB), block(random))), hashing(written), fs.createWriteStream(plain));
    // Large chunks: fewer hops through the JS thread, which then mostly waits for fs and zlib.
    await pipeline(fs.createReadStream(plain, { highWaterMark: MB }), zlib.createGzip({ level: 6, chunkSize: MB / 4 }), fs.createWriteStream(gz));
    const read = createHash("sha256");
    const copy = fs.createWriteStream(path.join(dir, "copy.log"));
    await pipeline(fs.createReadStream(gz, { highWaterMark: MB }), zlib.createGunzip({ chunkSize: MB / 4 }), hashing(read), copy);
    const sum = written.digest("hex");
    if (read.digest("hex") !== sum) throw new Error("gunzipped file differs from the original");
    const [{ size: plainBytes }, { size: gzipBytes }] = await Promise.all([fs.promises.stat(plain), fs.promises.stat(gz)]);
    return { plainBytes, gzipBytes, checksum: sum.slice(0, 16) };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
};
