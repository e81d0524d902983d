// SandboxRuntime on the Docker engine through dockerode. Containers run with network "none": the
// sidecar is reached through a Unix socket in a per-container host directory bind-mounted at /run/faas.
import * as fs from "node:fs";
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

export interface DockerRuntimeOptions {
  readonly docker: Docker;
  /** Host directory holding one socket directory per container. Unix socket paths must stay < 108 bytes. */
  readonly runDir: string;
  /** Prefix of container names, for humans running `docker ps`. */
  readonly namePrefix: string;
  /** How long a new container may take until its sidecar answers. */
  readonly startTimeoutMs: number;
  readonly pidsLimit: number;
  /** Host directory of node-manager's OTLP relay socket (otlp-relay.ts); absent: sidecars do not trace. */
  readonly otlpRelayDir?: string;
}

export class DockerRuntime implements SandboxRuntime {
  /** One HTTP/2 session per container, opened by the readiness probe and reused by every call. */
  private readonly channels = new Map<string, Channel>();

  private readonly tracingEnv: Record<string, string>;

  constructor(private readonly o: DockerRuntimeOptions) {
    fs.mkdirSync(o.runDir, { recursive: true });
    this.tracingEnv = o.otlpRelayDir ? { FAAS_OTLP_SOCKET: `${OTLP_DIR_IN_CONTAINER}/${RELAY_SOCKET_FILE}` } : {};
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const dirName = shortId(6);
    const socketDir = path.join(this.o.runDir, dirName);
    fs.mkdirSync(socketDir, { recursive: true, mode: 0o755 });
    const socketPath = path.join(socketDir, SOCKET_FILE);
    const labels = { ...spec.labels, [LABELS.socketDir]: dirName };
    const bytes = spec.memoryMb * 1024 * 1024;
    let container: Docker.Container | undefined;
    try {
      container = await this.o.docker.createContainer({
        name: `${this.o.namePrefix}-${spec.labels[LABELS.function] ?? "x"}-${dirName}`,
        Image: spec.image,
        Env: Object.entries({ ...spec.env, FAAS_SOCKET_PATH: SOCKET_IN_CONTAINER, ...this.tracingEnv }).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        HostConfig: {
          NetworkMode: "none",
          // The sidecar would be PID 1, and Node does not reap orphaned grandchildren (a function's own
          // child processes): Docker's init does.
          Init: true,
          Memory: bytes,
          MemorySwap: bytes, // no swap: the limit is the limit
          PidsLimit: this.o.pidsLimit,
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

  async update(id: string, memoryMb: number): Promise<void> {
    const bytes = memoryMb * 1024 * 1024;
    await this.o.docker.getContainer(id).update({ Memory: bytes, MemorySwap: bytes });
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
