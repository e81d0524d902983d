// What node-manager asks Docker for each function container, and the pool's rules that keep the hardening
// whole: a host-network container is never turned into a zygote (it would lend its network), and a lent
// container's CPU limit follows the renter's. The real Docker runtime is exercised by
// tests/integration/container-hardening.test.ts.
import test from "ava";
import { FakeClock } from "../../common/clock.js";
import { ConfigError } from "../../common/config.js";
import { loadNodeManagerConfig } from "../../services/node-manager/config.js";
import { createLogger } from "../../common/logger.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../../services/node-manager/container.js";
import type { StartupPolicy } from "../../services/node-manager/policies/policy.js";
import { ContainerPool, type RunnableFunction } from "../../services/node-manager/pool.js";
import { hardenedHostConfig, SIDECAR_CAPABILITIES } from "../../services/node-manager/sandbox/docker-runtime.js";
import type { Channel, Sandbox, SandboxRuntime, SandboxSpec } from "../../services/node-manager/sandbox/runtime.js";
import { eventually } from "../helpers/eventually.js";

test("every container: read-only root, bounded noexec /tmp, no new privileges, only the sidecar's capabilities, limits", (t) => {
  const c = hardenedHostConfig({ memoryMb: 256, cpus: 1.5, pidsLimit: 512, tmpfsMb: 64, hostNetwork: false });
  t.is(c.NetworkMode, "none");
  t.true(c.ReadonlyRootfs);
  t.deepEqual(c.Tmpfs, { "/tmp": "rw,noexec,nosuid,nodev,size=64m,mode=1777" });
  t.deepEqual(c.CapDrop, ["ALL"]);
  t.deepEqual(c.CapAdd, [...SIDECAR_CAPABILITIES]);
  t.false(c.CapAdd.some((cap) => ["SYS_ADMIN", "NET_RAW", "MKNOD", "SETPCAP", "SETFCAP", "SYS_CHROOT", "NET_BIND_SERVICE"].includes(cap)));
  t.deepEqual(c.SecurityOpt, ["no-new-privileges"]);
  t.is(c.Memory, 256 * 1024 * 1024);
  t.is(c.MemorySwap, c.Memory);
  t.is(c.NanoCpus, 1_500_000_000);
  t.is(c.PidsLimit, 512);
  t.true(c.Init);
  t.is(hardenedHostConfig({ memoryMb: 256, cpus: 1, pidsLimit: 512, tmpfsMb: 64, hostNetwork: true }).NetworkMode, "host");
  t.is(hardenedHostConfig({ memoryMb: 256, cpus: 0.001, pidsLimit: 512, tmpfsMb: 64, hostNetwork: false }).NanoCpus, 10_000_000, "Docker's floor: 0.01 CPU");
});

class MemoryRuntime implements SandboxRuntime {
  created = 0;
  readonly updates: Array<{ memoryMb: number; cpus?: number }> = [];
  readonly zygotes: string[] = [];
  async create(spec: SandboxSpec): Promise<Sandbox> {
    return { id: `sb${++this.created}`, labels: spec.labels, socketPath: "/nowhere", running: true };
  }
  async destroy() {}
  async pause() {}
  async unpause() {}
  async update(_id: string, memoryMb: number, cpus?: number) {
    this.updates.push(cpus === undefined ? { memoryMb } : { memoryMb, cpus });
  }
  async inject() {
    return "/run/faas/code/x";
  }
  channel(sb: Sandbox): Channel {
    const client = {
      fork: async () => ({ firstRunUs: 0n }),
      becomeZygote: async () => {
        this.zygotes.push(sb.id);
        return {};
      },
      stats: async () => ({ sidecarRssBytes: 0n, templateRssBytes: 0n }),
    };
    return { client: client as unknown as Channel["client"], close() {} };
  }
  async list() {
    return [];
  }
}

const fn = (name: string, o: { cpus?: number; hostNetwork?: boolean; workers?: number } = {}): RunnableFunction => ({
  name,
  digest: `sha256:${name}`,
  memoryMb: 256,
  maxConcurrency: 1,
  sandboxSpec: { image: `img-${name}`, memoryMb: 256, labels: {}, env: {}, cpus: o.cpus, hostNetwork: o.hostNetwork },
  dependencies: new Map(),
  packages: new Map(),
  // node.ts gives a host-network function no claim: it never borrows a zygote or stem cell.
  claim: o.hostNetwork ? undefined : { entry: "index.js", env: {}, timeoutMs: 1000, workers: o.workers ?? 1, codeDir: `/store/${name}/code`, fullCodeDir: `/store/${name}/full` },
});

const lendFirst: StartupPolicy = { name: "lend-first", decide: () => [], chooseLender: (_renter, candidates) => candidates[0]?.id };

function setup() {
  const clock = new FakeClock(1_000_000);
  const runtime = new MemoryRuntime();
  const pool = new ContainerPool({
    runtime,
    clock,
    logger: createLogger("test", "silent"),
    memoryCapacityMb: 4096,
    keyPrefix: "t",
    onTransition: () => {},
    idleAfterMs: 0,
    maxStarts: 4,
    policy: lendFirst,
    spareMemoryMb: 128,
    spares: { stemCell: () => ({ image: "runtime", memoryMb: 128, labels: {}, env: {}, cpus: 1 }), zygote: (set) => ({ image: set.image, memoryMb: 128, labels: {}, env: {}, cpus: 1 }) },
  });
  return { clock, runtime, pool };
}

test("a host-network executor is never turned into a zygote; another one is", async (t) => {
  const { pool, runtime, clock } = setup();
  const host = await pool.acquire(fn("h", { hostNetwork: true, cpus: 1 }), clock.now() + 1000);
  pool.release(host.container);
  pool.apply([{ kind: "become-zygote", containerId: host.container.id, reason: "test" }]);
  const plain = await pool.acquire(fn("p", { cpus: 1 }), clock.now() + 1000);
  pool.release(plain.container);
  pool.apply([{ kind: "become-zygote", containerId: plain.container.id, reason: "test" }]);
  await eventually(() => plain.container.role === ContainerRole.ZYGOTE && plain.container.state === ContainerState.IDLE, "the plain executor to become a zygote", 5000, 1);
  t.deepEqual(runtime.zygotes, [plain.container.sandbox!.id]);
  t.is(host.container.role, ContainerRole.EXECUTOR);
  t.is(host.container.state, ContainerState.IDLE);
});

test("a lent container's CPU limit follows the renter's workers, in the same update as its memory", async (t) => {
  const { pool, runtime, clock } = setup();
  const a = await pool.acquire(fn("a", { cpus: 1 }), clock.now() + 1000);
  pool.release(a.container);
  pool.apply([{ kind: "become-zygote", containerId: a.container.id, reason: "test" }]);
  await eventually(() => a.container.role === ContainerRole.ZYGOTE && a.container.state === ContainerState.IDLE, "the zygote", 5000, 1);

  const b = await pool.acquire(fn("b", { cpus: 2, workers: 2 }), clock.now() + 1000);
  t.is(b.startKind, StartKind.HELPER);
  await eventually(() => runtime.updates.length > 0, "the lent container's update", 5000, 1);
  t.deepEqual(runtime.updates, [{ memoryMb: 256, cpus: 2 }], "same memory, more CPUs: one update with the CPUs");
});

test("a non-root container adds no capability back; CONTAINER_NON_ROOT needs a policy that never lends", (t) => {
  const c = hardenedHostConfig({ memoryMb: 256, cpus: 1, pidsLimit: 512, tmpfsMb: 64, hostNetwork: false, nonRoot: true });
  t.deepEqual(c.CapDrop, ["ALL"]);
  t.deepEqual(c.CapAdd, []);
  t.notThrows(() => loadNodeManagerConfig({ CONTAINER_NON_ROOT: "true" }));
  t.notThrows(() => loadNodeManagerConfig({ CONTAINER_NON_ROOT: "true", NODE_POLICY: "histogram" }));
  for (const policy of ["pagurus", "sock", "prewarm"]) {
    t.throws(() => loadNodeManagerConfig({ CONTAINER_NON_ROOT: "true", NODE_POLICY: policy }), { instanceOf: ConfigError, message: /CONTAINER_NON_ROOT needs NODE_POLICY keepalive or histogram/ });
  }
});
