// The container's cgroup count of OOM kills. A worker that died of SIGKILL we did not send, while this
// count went up, was killed by the kernel for exceeding the container's memory limit.
import * as fs from "node:fs";

export interface OomKillSource {
  readonly file: string;
}

export const CGROUP_OOM_KILL_SOURCES: readonly OomKillSource[] = [
  { file: "/sys/fs/cgroup/memory.events" }, // cgroup v2: "oom_kill N"
  { file: "/sys/fs/cgroup/memory/memory.oom_control" }, // cgroup v1: "oom_kill N" (kernel >= 4.13)
];

const OOM_KILL_LINE = /^oom_kill (\d+)$/m;

/** undefined when no source is readable (no cgroup files visible): callers then cannot tell OOM from other kills. */
export function readOomKillCount(sources: readonly OomKillSource[] = CGROUP_OOM_KILL_SOURCES): number | undefined {
  for (const { file } of sources) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const m = OOM_KILL_LINE.exec(text);
    if (m) return Number(m[1]);
  }
  return undefined;
}
