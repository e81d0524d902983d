// io-journal: appends `work`x100 seeded 4 KB records to a journal file in the invocation's own temporary
// directory, each made durable with fsync before the next is written (a write-ahead log's discipline),
// then reads the journal back and hashes it. I/O-bound: nearly all its time is waiting for the disk, so
// invocations packed into one container overlap their waits.
const crypto = require("node:crypto");
const fs = require("node:fs/promises");
const os = require("node:os");
const path = require("node:path");

const RECORD_BYTES = 4096;

exports.main = async function main(params, ctx) {
  const work = Number(params.work ?? 1);
  if (!Number.isFinite(work) || work <= 0 || work > 100) throw new RangeError("params.work must be in (0, 100]");
  const records = Math.max(1, Math.round(work * 100));
  const seed = Number.isInteger(params.seed) ? params.seed : 1;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "journal-"));
  const file = path.join(dir, `${ctx.invocationId}.log`);
  const fh = await fs.open(file, "a");
  try {
    let block = crypto.createHash("sha256").update(`seed:${seed}`).digest();
    for (let i = 0; i < records; i++) {
      // Each record: its index and a seeded payload, so the read-back hash is checkable.
      block = crypto.createHash("sha256").update(block).digest();
      const record = Buffer.alloc(RECORD_BYTES, block);
      record.writeUInt32BE(i, 0);
      await fh.write(record);
      await fh.sync();
    }
  } finally {
    await fh.close();
  }
  const back = await fs.readFile(file);
  await fs.rm(dir, { recursive: true, force: true });
  if (back.length !== records * RECORD_BYTES) throw new Error(`journal holds ${back.length} bytes, expected ${records * RECORD_BYTES}`);
  return { records, bytes: back.length, sha256: crypto.createHash("sha256").update(back).digest("hex") };
};
