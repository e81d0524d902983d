// CPU time of the mesh's processes, from /proc/<pid>/stat (Linux only): what a warm invocation costs each
// process, a steadier measure than throughput on a machine whose speed drifts.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import type { LocalMesh } from "../scripts/local-mesh.js";

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

/** The sidecar's and the worker's host pids, from `docker top` of the node's containers. */
export function containerPids(nodeId: string): Record<string, number> {
  const out: Record<string, number> = {};
  const ids = execFileSync("docker", ["ps", "-q", "--filter", `name=faas-${nodeId}`]).toString().trim().split("\n").filter(Boolean);
  for (const id of ids) {
    for (const line of execFileSync("docker", ["top", id, "-eo", "pid,args"]).toString().trim().split("\n").slice(1)) {
      const [pid, ...args] = line.trim().split(/\s+/);
      const cmd = args.join(" ");
      if (cmd.includes("worker")) out.worker = Number(pid);
      else if (cmd.includes("sidecar")) out.sidecar = Number(pid);
    }
  }
  return out;
}

/** The five services' pids and, once a function is warm, its container's sidecar and worker. */
export function meshPids(mesh: LocalMesh): Record<string, number> {
  return { ...Object.fromEntries([...mesh.services].map(([name, s]) => [name, s.child.pid!])), ...containerPids(mesh.nodeId) };
}

/** CPU ms of each process since the snapshot was taken. */
export function cpuSince(pids: Record<string, number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid) - before[name]]));
}
