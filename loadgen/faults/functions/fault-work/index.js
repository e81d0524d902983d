// The fault matrix's workload: a request handler that hashes its input (real CPU work, about a tenth of a
// millisecond) and then waits `ioWaitMs` for a downstream service it stands for, so that at any moment
// many invocations are in flight in one container when a fault hits it (the wait is the point of the
// function: a fault test needs invocations that are running, not a CPU that is busy).
const crypto = require("node:crypto");

exports.main = async (params, ctx) => {
  let digest = Buffer.from(String(params.seq ?? ctx.invocationId));
  for (let i = 0; i < 200; i++) digest = crypto.createHash("sha256").update(digest).digest();
  const waitMs = Math.min(Number(params.ioWaitMs ?? 200), 5000);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  return { seq: params.seq ?? null, digest: digest.toString("hex").slice(0, 16), pid: process.pid };
};
