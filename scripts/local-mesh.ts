// Starts the whole mesh on this machine as local processes: a nats-server (unless one is given), the five
// services on free ports, each logging to a file. Used by the demo, the integration tests and the bench.
// Services start in dependency order and are ready when /healthz answers; each mesh has its own node id,
// so several meshes (parallel test files) share one Docker engine without touching each other's containers.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { shortId } from "../common/ids.js";
import { connectPeer } from "../common/transport.js";
import { AdminService } from "../gen/faas/gateway/v1/admin_pb.js";
import { qualifiedName } from "../services/gateway/tenancy/tenant-names.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type ServiceName = "trace-store" | "node-manager" | "balancer" | "gateway" | "zygote-builder";
const START_ORDER: readonly ServiceName[] = ["trace-store", "node-manager", "balancer", "gateway", "zygote-builder"];

export interface MeshOptions {
  /** Where databases and logs go; created. */
  readonly dir: string;
  /** Use this NATS instead of starting one. */
  readonly natsUrl?: string;
  /** Fixed ports (the demo uses the documented ones); default: any free port. */
  readonly ports?: Partial<Record<ServiceName, number>>;
  /** Extra environment per service, and for all. */
  readonly env?: Partial<Record<ServiceName | "all", Record<string, string>>>;
  readonly nodeId?: string;
  /** Extra node flags per service (e.g. --cpu-prof for profiling). */
  readonly nodeArgs?: Partial<Record<ServiceName, string[]>>;
  /** The tenant created at start, whose API key callers use (mesh.apiKey). Default "dev". */
  readonly tenant?: string;
}

/** The quota of the mesh's own tenant: the benchmarks drive thousands of invocations per second through it. */
const MESH_TENANT_QUOTA = { maxConcurrent: 1_000_000, ratePerSecond: 1_000_000, burst: 1_000_000 };

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function waitForLine(file: string, child: ChildProcess, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = buffered.match(pattern);
      if (m) {
        cleanup();
        resolve(m);
      }
      if (buffered.length > 1 << 20) buffered = buffered.slice(-65536);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      const tail = fs.existsSync(file) ? fs.readFileSync(file, "utf8").slice(-3000) : "";
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready; log ${file}:\n${tail}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} not ready within ${timeoutMs} ms; log ${file}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", onExit);
  });
}

function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): { child: ChildProcess; exited: ServiceProcess["exited"] } {
  const log = fs.createWriteStream(logFile, { flags: "a" });
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

export class LocalMesh {
  readonly nodeId: string;
  natsUrl = "";
  /** Manages tenants (AdminService); every service of this mesh gets it. */
  readonly operatorKey = `faas_operator_${randomBytes(24).toString("base64url")}`;
  /** The tenant every caller of this mesh acts as, and its API key. */
  readonly tenant: string;
  apiKey = "";
  #zygoteBuilderPort = 0;
  #nats: { child: ChildProcess; exited: ServiceProcess["exited"] } | undefined;
  readonly services = new Map<ServiceName, ServiceProcess>();

  private constructor(private readonly o: MeshOptions) {
    this.nodeId = o.nodeId ?? `n${shortId(4)}`;
    this.tenant = o.tenant ?? "dev";
    fs.mkdirSync(path.join(o.dir, "logs"), { recursive: true });
  }

  static async start(o: MeshOptions): Promise<LocalMesh> {
    const mesh = new LocalMesh(o);
    liveMeshes.add(mesh);
    stopMeshesOnSignal();
    try {
      mesh.natsUrl = o.natsUrl ?? (await mesh.startNats());
      // node-manager starts before zygote-builder (which needs the gateway's URL) but calls it: its port is fixed up front.
      mesh.#zygoteBuilderPort = o.ports?.["zygote-builder"] ?? (await freePort());
      for (const name of START_ORDER) await mesh.startService(name);
      // A mesh started again over the same directory finds its tenant in the gateway's database.
      mesh.apiKey = await mesh.createTenant(mesh.tenant, MESH_TENANT_QUOTA, { existing: "reuse" });
    } catch (err) {
      await mesh.stop();
      throw err;
    }
    return mesh;
  }

  url(name: ServiceName): string {
    const s = this.services.get(name);
    if (!s) throw new Error(`${name} is not running`);
    return s.url;
  }

  get gatewayUrl(): string {
    return this.url("gateway");
  }

  /** gRPC metadata / HTTP headers of a call as this mesh's tenant. */
  get auth(): { authorization: string } {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  /** The name the rest of the mesh (balancer, nodes, trace-store, Docker labels) knows the tenant's function by. */
  qualified(fn: string, tenant = this.tenant): string {
    return qualifiedName(tenant, fn);
  }

  /**
   * Creates a tenant through the gateway's AdminService; returns a new API key of it. With `existing: "reuse"`,
   * a tenant that already exists gets the quota and a new key instead of an error.
   */
  async createTenant(name: string, quota: { maxConcurrent?: number; ratePerSecond?: number; burst?: number } = {}, o: { existing?: "fail" | "reuse" } = {}): Promise<string> {
    const admin = connectPeer(AdminService, this.gatewayUrl);
    const headers = { authorization: `Bearer ${this.operatorKey}` };
    try {
      try {
        await admin.client.createTenant({ name, quota }, { headers, timeoutMs: 10_000 });
      } catch (err) {
        if (o.existing !== "reuse" || ConnectError.from(err).code !== Code.AlreadyExists) throw err;
        await admin.client.setQuota({ tenant: name, quota }, { headers, timeoutMs: 10_000 });
      }
      return (await admin.client.createApiKey({ tenant: name, description: "local mesh" }, { headers, timeoutMs: 10_000 })).apiKey;
    } finally {
      admin.close();
    }
  }

  logFile(name: ServiceName | "nats-server"): string {
    return path.join(this.o.dir, "logs", `${name}.log`);
  }

  async startNats(port = -1): Promise<string> {
    const file = this.logFile("nats-server");
    const store = path.join(this.o.dir, "jetstream");
    const nats = spawnLogged("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], process.env, file);
    this.#nats = nats;
    const m = await waitForLine(file, nats.child, /Listening for client connections on 127\.0\.0\.1:(\d+)/, "nats-server", 15_000);
    return `nats://127.0.0.1:${m[1]}`;
  }

  /** Stops nats-server (only one this mesh started). */
  async stopNats(): Promise<void> {
    if (!this.#nats) return;
    this.#nats.child.kill("SIGTERM");
    await this.#nats.exited;
    this.#nats = undefined;
  }

  envOf(name: ServiceName, port: number): NodeJS.ProcessEnv {
    const base: Record<string, string> = {
      NATS_URL: this.natsUrl,
      GATEWAY_OPERATOR_KEY: this.operatorKey,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    };
    const own: Record<ServiceName, () => Record<string, string>> = {
      "trace-store": () => ({ TRACE_STORE_PORT: String(port), TRACE_STORE_DB: path.join(this.o.dir, "trace-store.db") }),
      "node-manager": () => ({
        NODE_MANAGER_PORT: String(port),
        NODE_ID: this.nodeId,
        NODE_CODE_DIR: path.join(this.o.dir, "code"),
        ZYGOTE_BUILDER_URL: `http://127.0.0.1:${this.#zygoteBuilderPort}`,
      }),
      balancer: () => ({ BALANCER_PORT: String(port) }),
      gateway: () => ({
        GATEWAY_PORT: String(port),
        GATEWAY_DB: path.join(this.o.dir, "gateway.db"),
        BALANCER_URL: this.url("balancer"),
        TRACE_STORE_URL: this.url("trace-store"),
      }),
      "zygote-builder": () => ({
        ZYGOTE_BUILDER_PORT: String(port),
        GATEWAY_URL: this.url("gateway"),
        ZYGOTE_BUILD_DIR: path.join(this.o.dir, "zygote-build"),
        DOCKER_SOCKET: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock",
      }),
    };
    return { ...process.env, ...base, ...this.o.env?.all, ...own[name](), ...this.o.env?.[name] };
  }

  /**
   * Starts a service on its fixed port or on a free one, and resolves once /healthz answers. A free port
   * can be taken by someone else between our probe and the service's bind: then it tries another.
   */
  async startService(name: ServiceName, extraEnv: Record<string, string> = {}, port?: number): Promise<ServiceProcess> {
    const file = this.logFile(name);
    const fixed = port ?? this.o.ports?.[name] ?? (name === "zygote-builder" && this.#zygoteBuilderPort ? this.#zygoteBuilderPort : undefined);
    for (let attempt = 1; ; attempt++) {
      const port = fixed ?? (await freePort());
      const logStart = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const args = [...(this.o.nodeArgs?.[name] ?? []), path.join(REPO_ROOT, "dist/services", name, "main.js")];
      const { child, exited } = spawnLogged(process.execPath, args, { ...this.envOf(name, port), ...extraEnv }, file);
      const svc: ServiceProcess = { name, child, url: `http://127.0.0.1:${port}`, exited };
      const outcome = await Promise.race([this.waitHealthy(svc).then(() => "healthy" as const), exited.then(() => "exited" as const)]).catch((err: Error) =>
        svc.child.exitCode !== null || svc.child.signalCode !== null ? ("exited" as const) : err,
      );
      if (outcome === "healthy") {
        this.services.set(name, svc);
        return svc;
      }
      child.kill("SIGKILL");
      const log = fs.existsSync(file) ? fs.readFileSync(file, "utf8").slice(logStart) : "";
      if (outcome === "exited" && fixed === undefined && attempt < 5 && log.includes("EADDRINUSE")) continue;
      throw new Error(`${name} did not start${outcome instanceof Error ? `: ${outcome.message}` : ""}; log ${file}:\n${log.slice(-3000)}`);
    }
  }

  /** Sends a signal and waits for the process to exit. */
  async stopService(name: ServiceName, signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const s = this.services.get(name);
    if (!s) throw new Error(`${name} is not running`);
    s.child.kill(signal);
    const result = await s.exited;
    this.services.delete(name);
    return result;
  }

  /**
   * Stops a service with a signal and starts it again on the same port (its callers keep their URL),
   * after downMs.
   */
  async restartService(name: ServiceName, signal: NodeJS.Signals = "SIGTERM", downMs = 0): Promise<ServiceProcess> {
    const port = Number(new URL(this.url(name)).port);
    await this.stopService(name, signal);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    return this.startService(name, {}, port);
  }

  /** Stops nats-server and starts it again on the same port and JetStream store, after downMs. */
  async restartNats(downMs = 0): Promise<void> {
    if (!this.#nats) throw new Error("this mesh did not start its nats-server");
    const port = Number(new URL(this.natsUrl).port);
    await this.stopNats();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.startNats(port);
  }

  async stop(): Promise<void> {
    liveMeshes.delete(this);
    for (const name of [...START_ORDER].reverse()) {
      const s = this.services.get(name);
      if (!s) continue;
      s.child.kill("SIGTERM");
      const exited = await Promise.race([s.exited, new Promise((r) => setTimeout(r, 30_000, "timeout"))]);
      if (exited === "timeout") {
        s.child.kill("SIGKILL");
        await s.exited;
      }
      this.services.delete(name);
    }
    await this.stopNats();
    await removeNodeContainers(this.nodeId);
  }

  private async waitHealthy(s: ServiceProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) throw new Error(`${s.name} exited`);
      try {
        const res = await fetch(`${s.url}/healthz`, { headers: { connection: "close" } });
        if (res.ok) return;
      } catch {
        // not accepting yet
      }
      if (Date.now() > deadline) throw new Error(`${s.name} not healthy within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Removes every container a node-manager with this node id left behind (after a crash). */
export async function removeNodeContainers(nodeId: string): Promise<number> {
  const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
  const left = await docker.listContainers({ all: true, filters: { label: [`faas.node=${nodeId}`] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  return left.length;
}

/** Meshes started by this process and not stopped yet. */
const liveMeshes = new Set<LocalMesh>();
let signalsHandled = false;

/**
 * Ctrl-C or a SIGTERM to a load generator, demo or benchmark stops the meshes it started (their services
 * and containers) before it exits, instead of leaving them running; a second signal exits at once.
 */
function stopMeshesOnSignal(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      process.stderr.write(`${signal}: stopping ${liveMeshes.size} mesh(es)\n`);
      void Promise.allSettled([...liveMeshes].map((m) => m.stop())).then(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
}
