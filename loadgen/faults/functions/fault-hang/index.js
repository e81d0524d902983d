// The fault matrix's hung function: with `hang` it spins without ever yielding (only killing its worker
// ends it); otherwise it hashes its input and answers at once.
const crypto = require("node:crypto");

exports.main = (params) => {
  if (params.hang) for (;;) {}
  let digest = Buffer.from(String(params.seq ?? 0));
  for (let i = 0; i < 200; i++) digest = crypto.createHash("sha256").update(digest).digest();
  return { seq: params.seq ?? null, digest: digest.toString("hex").slice(0, 16), pid: process.pid };
};
