// SandboxRuntime on the Docker engine through dockerode. Containers run with network "none": the
// sidecar is reached through a Unix socket in a per-container host directory bind-mounted at /run/faas.
// Every container is hardened (hardenedHostConfig): read-only root, a bounded tmpfs at /tmp, no new
// privileges, only the capabilities the sidecar needs to give each worker its own uid (none at all, and the
// whole container as FUNCTION_UID, with SandboxSpec.nonRoot), and memory, CPU and process limits.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type Docker from "dockerode";
import { shortId } from "../../../common/ids.js";
import { connectPeer } from "../../../common/transport.js";
import { SidecarService } from "../../../gen/faas/sidecar/v1/sidecar_pb.js";
import { LABELS } from "../labels.js";
import { RELAY_SOCKET_FILE } from "../otlp-relay.js";
import type { Channel, Sandbox, SandboxRuntime, SandboxSpec } from "./runtime.js";

const RUN_DIR_IN_CONTAINER = "/run/faas";
const SOCKET_IN_CONTAINER = `${RUN_DIR_IN_CONTAINER}/sidecar.sock`;
/** Injected function code lives under the run directory, next to the socket. */
const CODE_DIR = "code";
const SOCKET_FILE = "sidecar.sock";
const OTLP_DIR_IN_CONTAINER = "/run/faas-otlp";

/**
 * uid (and gid) of a container's configured function's workers: the sidecar is told it (FAAS_WORKER_UID_BASE)
 * and function images give /fn to this group (function-images.ts), since the read-only root cannot be
 * chowned at run time. Template workers get the uids above it.
 */
export const FUNCTION_UID = 10_000;

/**
 * What the sidecar, root inside the container, keeps of root: exactly what per-worker uids need. SETUID and
 * SETGID start each worker under its own uid; CHOWN and FOWNER give a worker its directory and code
 * directory (and the socket to node-manager's user); KILL ends what a worker left behind under its uid;
 * DAC_OVERRIDE removes a worker's private directory, whatever modes it left in it. Workers themselves run with
 * no capability at all (a uid change from root clears them) and no-new-privileges keeps it so.
 */
export const SIDECAR_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"] as const;

export interface HardeningOptions {
  readonly memoryMb: number;
  /** CPUs the container may use (fractions allowed). */
  readonly cpus: number;
  readonly pidsLimit: number;
  readonly tmpfsMb: number;
  /** The host's network namespace instead of none (the function asked, the operator allowed). */
  readonly hostNetwork: boolean;
  /** The container runs as FUNCTION_UID (SandboxSpec.nonRoot): no capability is added back. */
  readonly nonRoot?: boolean;
}

/** The HostConfig limits and security settings of a function container (binds and logging aside). */
export function hardenedHostConfig(o: HardeningOptions) {
  const bytes = o.memoryMb * 1024 * 1024;
  return {
    NetworkMode: o.hostNetwork ? "host" : "none",
    // The sidecar would be PID 1, and Node does not reap orphaned grandchildren (a function's own
    // child processes): Docker's init does.
    Init: true,
    ReadonlyRootfs: true,
    // The only writable places: /tmp (the workers' private directories, FAAS_WORK_DIR), Docker's own
    // /dev/shm, and the bind-mounted run directory (root's; the sidecar's socket). noexec: nothing written
    // at run time is executed.
    Tmpfs: { "/tmp": `rw,noexec,nosuid,nodev,size=${o.tmpfsMb}m,mode=1777` },
    CapDrop: ["ALL"],
    CapAdd: o.nonRoot ? [] : [...SIDECAR_CAPABILITIES],
    SecurityOpt: ["no-new-privileges"],
    Memory: bytes,
    MemorySwap: bytes, // no swap: the limit is the limit
    NanoCpus: nanoCpus(o.cpus),
    PidsLimit: o.pidsLimit,
  };
}

const nanoCpus = (cpus: number) => Math.max(10_000_000, Math.round(cpus * 1e9));

export interface DockerRuntimeOptions {
  readonly docker: Docker;
  /** Host directory holding one socket directory per container. Unix socket paths must stay < 108 bytes. */
  readonly runDir: string;
  /** Prefix of container names, for humans running `docker ps`. */
  readonly namePrefix: string;
  /** How long a new container may take until its sidecar answers. */
  readonly startTimeoutMs: number;
  readonly pidsLimit: number;
  /** CPUs of a container whose spec names none (CONTAINER_CPUS_PER_WORKER). Default 1. */
  readonly defaultCpus?: number;
  /** Size of each container's /tmp (CONTAINER_TMPFS_MB). Default 64. */
  readonly tmpfsMb?: number;
  /** Host directory of node-manager's OTLP relay socket (otlp-relay.ts); absent: sidecars do not trace. */
  readonly otlpRelayDir?: string;
}

export class DockerRuntime implements SandboxRuntime {
  /** One HTTP/2 session per container, opened by the readiness probe and reused by every call. */
  private readonly channels = new Map<string, Channel>();

  private readonly tracingEnv: Record<string, string>;
  /** The Docker host's CPUs: Docker refuses a NanoCpus above them. */
  private hostCpus: Promise<number> | undefined;

  constructor(private readonly o: DockerRuntimeOptions) {
    fs.mkdirSync(o.runDir, { recursive: true });
    this.tracingEnv = o.otlpRelayDir ? { FAAS_OTLP_SOCKET: `${OTLP_DIR_IN_CONTAINER}/${RELAY_SOCKET_FILE}` } : {};
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const dirName = shortId(6);
    const socketDir = path.join(this.o.runDir, dirName);
    fs.mkdirSync(socketDir, { recursive: true, mode: 0o755 });
    // A non-root sidecar must create its socket here: the directory becomes its user's.
    if (spec.nonRoot) fs.chownSync(socketDir, FUNCTION_UID, FUNCTION_UID);
    const socketPath = path.join(socketDir, SOCKET_FILE);
    const labels = { ...spec.labels, [LABELS.socketDir]: dirName };
    let container: Docker.Container | undefined;
    try {
      const cpus = await this.cpus(spec.cpus);
      container = await this.o.docker.createContainer({
        name: `${this.o.namePrefix}-${spec.labels[LABELS.function] ?? "x"}-${dirName}`,
        Image: spec.image,
        ...(spec.nonRoot && { User: `${FUNCTION_UID}:${FUNCTION_UID}` }),
        Env: Object.entries({ ...spec.env, FAAS_SOCKET_PATH: SOCKET_IN_CONTAINER, FAAS_WORKER_UID_BASE: String(FUNCTION_UID), ...this.tracingEnv }).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        HostConfig: {
          ...hardenedHostConfig({ memoryMb: spec.memoryMb, cpus, pidsLimit: this.o.pidsLimit, tmpfsMb: this.o.tmpfsMb ?? 64, hostNetwork: spec.hostNetwork === true, nonRoot: spec.nonRoot === true }),
          Binds: [`${socketDir}:${RUN_DIR_IN_CONTAINER}`, ...(this.o.otlpRelayDir ? [`${this.o.otlpRelayDir}:${OTLP_DIR_IN_CONTAINER}:ro`] : [])],
          LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
        },
      });
      // "next-exit": the default condition ("not-running") is already true of a created container.
      const exited = container.wait({ condition: "next-exit" }).then((r: { StatusCode: number }) => r.StatusCode);
      await container.start();
      await this.waitForSocket(socketPath, exited);
      const sandbox: Sandbox = { id: container.id, labels, socketPath, running: true };
      await this.probe(sandbox, exited);
      return sandbox;
    } catch (err) {
      const logs = container ? await this.tailLogs(container) : "";
      if (container) await this.destroy(container.id, socketDir);
      else fs.rmSync(socketDir, { recursive: true, force: true });
      throw new Error(`container failed to start: ${(err as Error).message}${logs ? `; last output: ${logs}` : ""}`);
    }
  }

  async destroy(id: string, knownSocketDir?: string): Promise<void> {
    let socketDir = knownSocketDir;
    try {
      if (!socketDir) {
        const info = await this.o.docker.getContainer(id).inspect();
        const dirName = info.Config.Labels?.[LABELS.socketDir];
        if (dirName) socketDir = path.join(this.o.runDir, dirName);
      }
      await this.o.docker.getContainer(id).remove({ force: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    } finally {
      this.channels.get(id)?.close();
      this.channels.delete(id);
      if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
    }
  }

  async pause(id: string): Promise<void> {
    await this.o.docker.getContainer(id).pause();
  }

  async unpause(id: string): Promise<void> {
    await this.o.docker.getContainer(id).unpause();
  }

  async update(id: string, memoryMb: number, cpus?: number): Promise<void> {
    const bytes = memoryMb * 1024 * 1024;
    const cpu = cpus === undefined ? {} : { NanoCpus: nanoCpus(await this.cpus(cpus)) };
    await this.o.docker.getContainer(id).update({ Memory: bytes, MemorySwap: bytes, ...cpu });
  }

  /** The CPUs asked for (or the default), capped at the Docker host's. */
  private async cpus(asked: number | undefined): Promise<number> {
    this.hostCpus ??= this.o.docker.info().then(
      (info: { NCPU?: number }) => info.NCPU || os.availableParallelism(),
      () => os.availableParallelism(),
    );
    return Math.min(asked ?? this.o.defaultCpus ?? 1, await this.hostCpus);
  }

  async inject(sandbox: Sandbox, hostDir: string): Promise<string> {
    const name = `${path.basename(hostDir)}-${shortId(4)}`;
    const target = path.join(path.dirname(sandbox.socketPath), CODE_DIR, name);
    const small = smallTree(hostDir, SYNC_LINK_MAX_ENTRIES);
    if (small) linkEntriesSync(hostDir, target, small);
    else await linkTree(hostDir, target);
    return path.posix.join(RUN_DIR_IN_CONTAINER, CODE_DIR, name);
  }

  channel(sandbox: Sandbox): Channel {
    let ch = this.channels.get(sandbox.id);
    if (!ch) {
      const peer = connectPeer(SidecarService, `unix:${sandbox.socketPath}`, { readMaxBytes: 64 * 1024 * 1024 });
      ch = {
        client: peer.client,
        close: () => {
          peer.close();
          this.channels.delete(sandbox.id);
        },
      };
      this.channels.set(sandbox.id, ch);
    }
    return ch;
  }

  async list(labels: Record<string, string>): Promise<Sandbox[]> {
    const found = await this.o.docker.listContainers({
      all: true,
      filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
    });
    return found.map((c) => ({
      id: c.Id,
      labels: c.Labels,
      socketPath: path.join(this.o.runDir, c.Labels[LABELS.socketDir] ?? "missing", SOCKET_FILE),
      running: c.State === "running",
    }));
  }

  /** Resolves when the sidecar has created its socket; rejects if the container exits or time runs out. */
  private waitForSocket(socketPath: string, exited: Promise<number>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        watcher?.close();
        clearInterval(poll);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (fs.existsSync(socketPath)) finish();
      };
      // inotify wakes us the moment the socket appears; the slow poll covers filesystems where it does not.
      let watcher: fs.FSWatcher | undefined;
      try {
        watcher = fs.watch(path.dirname(socketPath), check);
      } catch {
        watcher = undefined;
      }
      const poll = setInterval(check, 20);
      const timer = setTimeout(() => finish(new Error(`sidecar not ready within ${this.o.startTimeoutMs} ms`)), this.o.startTimeoutMs);
      exited.then((code) => finish(new Error(`container exited with status ${code} before its sidecar was ready`)), () => {});
      check();
    });
  }

  /** The socket exists once bound; a first call proves the sidecar accepts (it may be between bind and listen). */
  private async probe(sandbox: Sandbox, exited: Promise<number>): Promise<void> {
    const deadline = Date.now() + this.o.startTimeoutMs;
    let exitCode: number | undefined;
    void exited.then((c) => (exitCode = c), () => {});
    for (let attempt = 0; ; attempt++) {
      const ch = this.channel(sandbox);
      try {
        await ch.client.stats({}, { timeoutMs: 2000 });
        return;
      } catch (err) {
        ch.close(); // a refused connection leaves a dead session behind
        if (exitCode !== undefined) throw new Error(`container exited with status ${exitCode}`);
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 20)));
      }
    }
  }

  private async tailLogs(container: Docker.Container): Promise<string> {
    try {
      const buf = (await container.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
      // Strip Docker's 8-byte stream frame headers.
      const out: string[] = [];
      for (let i = 0; i + 8 <= buf.length; ) {
        const len = buf.readUInt32BE(i + 4);
        out.push(buf.subarray(i + 8, i + 8 + len).toString("utf8"));
        i += 8 + len;
      }
      return out.join("").trim().slice(-2000);
    } catch {
      return "";
    }
  }
}

/**
 * A tree this small (a function's own files) is linked synchronously: a few hundred µs on the loop beat a
 * thread-pool round trip per file on a HELPER start's critical path. Bigger ones (node_modules) go async.
 */
const SYNC_LINK_MAX_ENTRIES = 64;

interface TreeEntry {
  /** Relative to the tree's root. */
  readonly rel: string;
  readonly kind: "dir" | "symlink" | "file";
}

/** The tree's entries, parents before children, in one walk; undefined once there are more than limit. */
function smallTree(root: string, limit: number): TreeEntry[] | undefined {
  const out: TreeEntry[] = [];
  const walk = (rel: string): boolean => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      out.push({ rel: child, kind: e.isDirectory() ? "dir" : e.isSymbolicLink() ? "symlink" : "file" });
      if (out.length > limit) return false;
      if (e.isDirectory() && !walk(child)) return false;
    }
    return true;
  };
  return walk("") ? out : undefined;
}

/** linkTree for a tree already listed, synchronously. */
function linkEntriesSync(from: string, to: string, entries: readonly TreeEntry[]): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const { rel, kind } of entries) {
    const src = path.join(from, rel);
    const dst = path.join(to, rel);
    if (kind === "dir") fs.mkdirSync(dst, { mode: 0o755 });
    else if (kind === "symlink") fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        fs.copyFileSync(src, dst);
      }
    }
  }
}

/**
 * Copies a directory tree by hard-linking its files (a function's node_modules has thousands: linking is
 * what makes a claim take milliseconds), copying where linking is impossible (another filesystem).
 * The files stay root's and read-only to the worker; the directories are new.
 */
async function linkTree(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(to, { recursive: true, mode: 0o755 });
  const entries = await fs.promises.readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map(async (e) => {
      const src = path.join(from, e.name);
      const dst = path.join(to, e.name);
      if (e.isDirectory()) return linkTree(src, dst);
      if (e.isSymbolicLink()) return fs.promises.symlink(await fs.promises.readlink(src), dst);
      try {
        await fs.promises.link(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        await fs.promises.copyFile(src, dst);
      }
    }),
  );
}
