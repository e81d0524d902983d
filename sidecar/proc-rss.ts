// Resident memory of a process from /proc/<pid>/status, for Stats.
import { readFile } from "node:fs/promises";

const VM_RSS = /^VmRSS:\s+(\d+)\s+kB$/m;

/** 0 when the process is gone or /proc is not available. */
export async function readRssBytes(pid: number): Promise<bigint> {
  try {
    const m = VM_RSS.exec(await readFile(`/proc/${pid}/status`, "utf8"));
    return m ? BigInt(m[1]) * 1024n : 0n;
  } catch {
    return 0n;
  }
}
