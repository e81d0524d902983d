// zip-archive: generates `work` MB of seeded files (text and JSON), zips them with DEFLATE, reads the archive
// back and checks every file.
const { createHash } = require("node:crypto");
const JSZip = require("jszip");

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

function textFile(bytes, random) {
  const words = ["alpha", "beta", "gamma", "delta", "lorem", "ipsum", "serverless", "container", "zygote", "fork"];
  let s = "";
  while (s.length < bytes) s += words[(random() * words.length) | 0] + (random() < 0.1 ? ".\n" : " ");
  return s;
}
function jsonFile(bytes, random) {
  const rows = [];
  for (let size = 0; size < bytes; size += 60) rows.push({ id: (random() * 1e6) | 0, score: Math.round(random() * 1e4) / 100, ok: random() < 0.5 });
  return JSON.stringify(rows);
}

const FIXED_DATE = new Date(Date.UTC(2024, 0, 1));

exports.main = async function main(params) {
  const { work, random } = args(params, 16);
  const total = Math.round(work * 1024 * 1024);
  const zip = new JSZip();
  const files = new Map();
  for (let i = 0, size = 0; size < total; i++) {
    const bytes = Math.min(total - size, 16384 + ((random() * 49152) | 0));
    const name = i % 3 === 2 ? `data/part-${i}.json` : `docs/file-${i}.txt`;
    const content = i % 3 === 2 ? jsonFile(bytes, random) : textFile(bytes, random);
    files.set(name, content);
    zip.file(name, content, { date: FIXED_DATE, createFolders: false }); // no dated folder entries: a deterministic archive
    size += content.length;
  }
  const archive = await zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 6 } });
  const read = await JSZip.loadAsync(archive);
  for (const [name, content] of files) {
    if ((await read.file(name).async("string")) !== content) throw new Error(`${name} differs after the round trip`);
  }
  const inputBytes = [...files.values()].reduce((n, c) => n + c.length, 0);
  return { files: files.size, inputBytes, zipBytes: archive.length, checksum: checksum(archive) };
};
