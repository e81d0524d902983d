// The pool's decisions, driven through the SandboxRuntime interface by an in-memory runtime and a fake
// clock. The real Docker runtime is exercised by the integration tests.
import test from "ava";
import { FakeClock } from "../../common/clock.js";
import { eventually } from "../helpers/eventually.js";
import { createLogger } from "../../common/logger.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { Container, ContainerRole, ContainerState, IllegalTransition, type Transition } from "../../services/node-manager/container.js";
import type { StartupPolicy } from "../../services/node-manager/policies/policy.js";
import { keepAlivePolicy } from "../../services/node-manager/policies/keepalive.js";
import { ContainerPool, NoCapacityError, StartFailedError, type PoolOptions, type RunnableFunction } from "../../services/node-manager/pool.js";
import { planStarts, SATURATED_DEFER_MS, uncoveredContainers, type FunctionDemand } from "../../services/node-manager/policies/scale-up.js";
import type { Channel, Sandbox, SandboxRuntime, SandboxSpec } from "../../services/node-manager/sandbox/runtime.js";

class MemoryRuntime implements SandboxRuntime {
  readonly live = new Map<string, Sandbox>();
  created = 0;
  /** Resolvers of creates held back by the test. */
  gate: Array<() => void> | undefined;
  /** Creates fail with this message while set. */
  failWith: string | undefined;
  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.gate) await new Promise<void>((r) => this.gate!.push(r));
    if (this.failWith) throw new Error(this.failWith);
    const sb = { id: `sb${++this.created}`, labels: spec.labels, socketPath: "/nowhere", running: true };
    this.live.set(sb.id, sb);
    return sb;
  }
  async destroy(id: string) {
    this.live.delete(id);
  }
  async pause() {}
  async unpause() {}
  readonly updates: Array<{ id: string; memoryMb: number }> = [];
  readonly injected: string[] = [];
  readonly forks: Array<{ sandbox: string; function: string; codeDir: string; firstRun?: string }> = [];
  readonly zygotes: string[] = [];
  /** Resolvers of zygote conversions held back by the test. */
  zygoteGate: Array<() => void> | undefined;
  /** What a zygote's sidecar and template hold (Stats), MB. */
  zygoteRssMb: [number, number] = [30, 40];
  /** Fork fails with this message while set, as a broken connection would (after the call went out). */
  forkFailsWith: string | undefined;
  /** Fork is refused by the sidecar (nothing ran) with this message while set. */
  forkRefusedWith: string | undefined;
  /** Resolvers of updates held back by the test. */
  updateGate: Array<() => void> | undefined;
  /** Updates fail with this message while set. */
  updateFailsWith: string | undefined;
  async update(id: string, memoryMb: number) {
    if (this.updateGate) await new Promise<void>((r) => this.updateGate!.push(r));
    if (this.updateFailsWith) throw new Error(this.updateFailsWith);
    this.updates.push({ id, memoryMb });
  }
  async inject(_sb: Sandbox, hostDir: string) {
    this.injected.push(hostDir);
    return `/run/faas/code/${this.injected.length}`;
  }
  channel(sb: Sandbox): Channel {
    const client = {
      fork: async (req: { function: string; codeDir: string; firstRun?: { invocationId: string } }) => {
        if (this.forkFailsWith) throw new Error(this.forkFailsWith);
        if (this.forkRefusedWith) throw new ConnectError(this.forkRefusedWith, Code.FailedPrecondition);
        this.forks.push({ sandbox: sb.id, function: req.function, codeDir: req.codeDir, firstRun: req.firstRun?.invocationId });
        const run = req.firstRun;
        return run ? { firstResult: { invocationId: run.invocationId, status: InvocationStatus.OK }, firstRunUs: 100n } : { firstRunUs: 0n };
      },
      becomeZygote: async () => {
        if (this.zygoteGate) await new Promise<void>((r) => this.zygoteGate!.push(r));
        this.zygotes.push(sb.id);
        return {};
      },
      stats: async () => ({ sidecarRssBytes: BigInt(this.zygoteRssMb[0] * 1024 * 1024), templateRssBytes: BigInt(this.zygoteRssMb[1] * 1024 * 1024) }),
    };
    return { client: client as unknown as Channel["client"], close() {} };
  }
  async list() {
    return [...this.live.values()];
  }
}

const fn = (name: string, memoryMb = 256, maxConcurrency = 1, dependencies: Record<string, string> = {}): RunnableFunction => ({
  name,
  digest: `sha256:${name}`,
  memoryMb,
  maxConcurrency,
  sandboxSpec: { image: `img-${name}`, memoryMb, labels: {}, env: {} },
  dependencies: new Map(Object.entries(dependencies)),
  packages: new Map(Object.entries(dependencies)),
  claim: { entry: "index.js", env: {}, timeoutMs: 1000, workers: 1, codeDir: `/store/${name}/code`, fullCodeDir: `/store/${name}/full` },
});

/** An invocation to run, for acquire (a waiter with one can ride a fork). */
const runOf = (invocationId: string) => ({ invocationId, payload: new Uint8Array(), timeoutMs: 1000, traceparent: "" });

/** Lends the first candidate offered: the pool's side of lending, without a policy's preferences. */
const lendFirst: StartupPolicy = { name: "lend-first", decide: () => [], chooseLender: (_renter, candidates) => candidates[0]?.id };

function setup(capacityMb = 1024, idleAfterMs = 0, maxStarts = 4, policy?: StartupPolicy, extra: Partial<PoolOptions> = {}) {
  const clock = new FakeClock(1_000_000);
  const runtime = new MemoryRuntime();
  const transitions: Transition[] = [];
  const pool = new ContainerPool({
    runtime,
    clock,
    logger: createLogger("test", process.env.POOL_TEST_LOG ?? "silent"),
    memoryCapacityMb: capacityMb,
    keyPrefix: "t",
    onTransition: (t) => transitions.push(t),
    idleAfterMs,
    maxStarts,
    policy,
    spareMemoryMb: 128,
    spares: { stemCell: () => ({ image: "runtime", memoryMb: 128, labels: {}, env: {} }), zygote: (set) => ({ image: set.image, memoryMb: 128, labels: {}, env: {} }) },
    ...extra,
  });
  return { clock, runtime, pool, transitions };
}

test("a first invocation starts a container cold, the next reuses it warm", async (t) => {
  const { pool, runtime, transitions, clock } = setup();
  const a = await pool.acquire(fn("f"), clock.now() + 1000);
  t.is(a.startKind, StartKind.COLD);
  pool.release(a.container);
  const b = await pool.acquire(fn("f"), clock.now() + 1000);
  t.is(b.startKind, StartKind.WARM);
  t.is(b.container, a.container);
  t.is(runtime.created, 1);
  t.deepEqual(
    transitions.map((x) => ContainerState[x.to]),
    ["STARTING", "BUSY", "IDLE", "BUSY"],
  );
});

test("with an idle delay, back-to-back invocations keep a container BUSY; it turns IDLE once left alone", async (t) => {
  const { pool, transitions, clock } = setup(1024, 20);
  const a = await pool.acquire(fn("f"), clock.now() + 1000);
  pool.release(a.container);
  const b = await pool.acquire(fn("f"), clock.now() + 1000);
  t.is(b.startKind, StartKind.WARM);
  pool.release(b.container);
  t.deepEqual(transitions.map((x) => ContainerState[x.to]), ["STARTING", "BUSY"]);
  await eventually(() => a.container.state === ContainerState.IDLE, "the container to turn IDLE", 5000, 5);
  t.deepEqual(transitions.map((x) => ContainerState[x.to]), ["STARTING", "BUSY", "IDLE"]);
});

test("retiring a function removes a container that is lingering before it turns IDLE", async (t) => {
  const { pool, clock } = setup(1024, 60_000);
  const a = await pool.acquire(fn("f"), clock.now() + 1000);
  pool.release(a.container);
  t.is(a.container.state, ContainerState.BUSY);
  pool.retire("f", undefined, "function removed");
  await eventually(() => a.container.state === ContainerState.REMOVED, "the container to be removed", 5000, 5);
  t.pass();
});

test("a busy container at its concurrency limit is not shared; one below it is", async (t) => {
  const { pool, runtime, clock } = setup();
  const a = await pool.acquire(fn("f"), clock.now() + 1000);
  const b = await pool.acquire(fn("f"), clock.now() + 1000);
  t.not(a.container, b.container);
  t.is(runtime.created, 2);
  const c = await pool.acquire(fn("g", 256, 2), clock.now() + 1000);
  const d = await pool.acquire(fn("g", 256, 2), clock.now() + 1000);
  t.is(c.container, d.container);
  t.is(d.startKind, StartKind.WARM);
});

test("concurrent first calls join a container that is still starting instead of starting one each", async (t) => {
  const { pool, runtime, clock } = setup();
  runtime.gate = [];
  const first = pool.acquire(fn("g", 256, 4), clock.now() + 1000);
  const second = pool.acquire(fn("g", 256, 4), clock.now() + 1000);
  await new Promise((r) => setImmediate(r));
  for (const open of runtime.gate.splice(0)) open();
  const [a, b] = await Promise.all([first, second]);
  t.is(a.container, b.container);
  t.is(runtime.created, 1);
  t.is(b.startKind, StartKind.COLD);
});

test("idle containers of other functions are evicted, least recently used first, to make room", async (t) => {
  const { pool, clock, runtime } = setup(512);
  const a = await pool.acquire(fn("a"), clock.now() + 1000);
  clock.advance(10);
  const b = await pool.acquire(fn("b"), clock.now() + 1000);
  pool.release(a.container);
  clock.advance(10);
  pool.release(b.container);
  await pool.acquire(fn("c"), clock.now() + 1000);
  t.is(a.container.state, ContainerState.REMOVED);
  t.is(b.container.state, ContainerState.IDLE);
  t.is(runtime.live.size, 2);
});

test("without room and nothing idle, an invocation waits for capacity and then gives up with NoCapacityError", async (t) => {
  const { pool, clock } = setup(256);
  const a = await pool.acquire(fn("a"), clock.now() + 1000);
  const waiting = pool.acquire(fn("b"), clock.now() + 5000);
  pool.release(a.container); // a becomes idle and can be evicted for b
  const b = await waiting;
  t.is(b.startKind, StartKind.COLD);
  await t.throwsAsync(pool.acquire(fn("c"), clock.now() + 50), { instanceOf: NoCapacityError });
  await t.throwsAsync(pool.acquire(fn("huge", 4096), clock.now() + 1000), { instanceOf: NoCapacityError });
});

test("the keep-alive policy removes executors idle for the keep-alive time, and only those", async (t) => {
  const { pool, clock } = setup();
  const policy = keepAlivePolicy(600_000);
  const a = await pool.acquire(fn("a"), clock.now() + 1000);
  const b = await pool.acquire(fn("b"), clock.now() + 1000);
  pool.release(a.container);
  clock.advance(599_999);
  t.deepEqual(policy.decide(pool.view(), clock.now()), []);
  clock.advance(1);
  const actions = policy.decide(pool.view(), clock.now());
  t.deepEqual(actions.map((x) => ("containerId" in x ? x.containerId : x.kind)), [a.container.id]);
  pool.apply(actions);
  await new Promise((r) => setImmediate(r));
  t.is(a.container.state, ContainerState.REMOVED);
  t.is(b.container.state, ContainerState.BUSY, "a busy container is never removed, however old");
});

test("retiring a function removes its idle containers now and its busy ones when they finish", async (t) => {
  const { pool, clock } = setup();
  const a = await pool.acquire(fn("f", 256, 1), clock.now() + 1000);
  const b = await pool.acquire(fn("f", 256, 1), clock.now() + 1000);
  pool.release(b.container);
  t.is(pool.retire("f", undefined, "function removed"), 2);
  await new Promise((r) => setImmediate(r));
  t.is(b.container.state, ContainerState.REMOVED);
  t.is(a.container.state, ContainerState.BUSY);
  pool.release(a.container);
  await new Promise((r) => setImmediate(r));
  t.is(a.container.state, ContainerState.REMOVED);
});

const settle = () => new Promise((r) => setImmediate(r));

test("a burst during a slow start starts at most maxStarts containers, and a slot that frees first serves the oldest waiter WARM", async (t) => {
  const { pool, runtime, clock } = setup(8192, 0, 2);
  const first = await pool.acquire(fn("f"), clock.now() + 60_000);
  runtime.gate = [];
  const burst = Array.from({ length: 6 }, () => pool.acquire(fn("f"), clock.now() + 60_000));
  await settle();
  t.is(runtime.gate.length, 2, "two starts at once, not one per arrival");
  pool.release(first.container);
  const oldest = await burst[0];
  t.is(oldest.container, first.container);
  t.is(oldest.startKind, StartKind.WARM);
  t.true(oldest.queuedUs >= 0n);
  for (const open of runtime.gate.splice(0)) open();
  await settle();
  // The two new containers serve the next two waiters, COLD; then two more starts for the rest.
  t.deepEqual((await Promise.all(burst.slice(1, 3))).map((l) => l.startKind), [StartKind.COLD, StartKind.COLD]);
  t.is(runtime.gate.length, 2);
  for (const open of runtime.gate.splice(0)) open();
  await settle();
  t.is(runtime.created, 5);
  pool.release(oldest.container); // serves waiter 5 warm, no start for it
  const rest = await Promise.all(burst.slice(3));
  t.deepEqual(rest.map((l) => l.startKind), [StartKind.COLD, StartKind.COLD, StartKind.WARM]);
  t.is(runtime.created, 5);
});

test("a container that finishes starting with nobody waiting any more turns IDLE and serves the next arrival WARM", async (t) => {
  const { pool, runtime, clock } = setup();
  const a = await pool.acquire(fn("f"), clock.now() + 1000);
  runtime.gate = [];
  const b = pool.acquire(fn("f"), clock.now() + 1000);
  await settle();
  pool.release(a.container);
  t.is((await b).container, a.container);
  for (const open of runtime.gate.splice(0)) open();
  await eventually(() => pool.all().filter((c) => c.state === ContainerState.IDLE).length === 1, "the new container to be IDLE", 5000, 5);
  const c = await pool.acquire(fn("f"), clock.now() + 1000);
  t.is(c.startKind, StartKind.WARM);
  t.not(c.container, a.container);
});

test("a failed start fails the waiters it was started for, and later arrivals try again", async (t) => {
  const { pool, runtime, clock } = setup();
  runtime.failWith = "image is gone";
  await t.throwsAsync(pool.acquire(fn("f"), clock.now() + 60_000), { instanceOf: StartFailedError, message: /image is gone/ });
  t.is(pool.queued, 0);
  runtime.failWith = undefined;
  t.is((await pool.acquire(fn("f"), clock.now() + 1000)).startKind, StartKind.COLD);
});

test("stopping fails the waiting invocations, starts nothing more, and removes a container that was still starting", async (t) => {
  const { pool, runtime, clock } = setup();
  runtime.gate = [];
  const waiting = pool.acquire(fn("f"), clock.now() + 60_000);
  await settle();
  t.is(runtime.gate.length, 1);
  const stopped = pool.removeAll("test");
  await t.throwsAsync(waiting, { instanceOf: StartFailedError, message: /stopping/ });
  for (const open of runtime.gate.splice(0)) open();
  await stopped;
  await eventually(() => runtime.live.size === 0, "the late container to be destroyed", 5000, 5);
  await t.throwsAsync(pool.acquire(fn("f"), clock.now() + 1000), { instanceOf: StartFailedError });
  t.is(runtime.created, 1);
});

const demand = (key: string, over: Partial<FunctionDemand> = {}): FunctionDemand => ({ key, queued: 1, starting: 0, running: 0, maxConcurrency: 1, oldestWaitingSince: 0, oldestWaitMs: 0, ...over });

test("planStarts: slots of starting containers cover waiters before any new start", (t) => {
  t.is(uncoveredContainers(demand("f", { queued: 5, starting: 2 })), 3);
  t.is(uncoveredContainers(demand("f", { queued: 5, starting: 2, maxConcurrency: 4 })), 0);
  t.is(uncoveredContainers(demand("f", { queued: 9, starting: 1, maxConcurrency: 4 })), 2);
  t.is(uncoveredContainers(demand("f", { queued: 0 })), 0);
});

test("planStarts: within the node's limit, functions with nothing running first, then the longest waiting", (t) => {
  const demands = [
    demand("busy", { queued: 5, running: 3, oldestWaitingSince: 1 }),
    demand("new", { queued: 1, oldestWaitingSince: 9 }),
    demand("older-new", { queued: 2, oldestWaitingSince: 5 }),
  ];
  t.deepEqual(planStarts(demands, 0, 4), [
    { key: "older-new", count: 2 },
    { key: "new", count: 1 },
    { key: "busy", count: 1 },
  ]);
  t.deepEqual(planStarts(demands, 3, 4), [{ key: "older-new", count: 1 }]);
  t.deepEqual(planStarts(demands, 4, 4), []);
  t.deepEqual(planStarts(demands, 9, 4), []);
});

test("planStarts: on a saturated node only functions with no container get one, one each", (t) => {
  const demands = [demand("busy", { queued: 5, running: 3, oldestWaitingSince: 3 }), demand("warming", { queued: 4, starting: 1, oldestWaitingSince: 1 }), demand("new", { queued: 3, oldestWaitingSince: 2 })];
  t.deepEqual(planStarts(demands, 0, 4, true), [{ key: "new", count: 1 }]);
  // Held back too long: one start again for a function with nothing starting.
  const longWait = [demand("busy", { queued: 5, running: 3, oldestWaitMs: SATURATED_DEFER_MS }), demand("warming", { queued: 4, starting: 1, oldestWaitMs: 60_000 })];
  t.deepEqual(planStarts(longWait, 0, 4, true), [{ key: "busy", count: 1 }]);
  t.deepEqual(planStarts(demands, 0, 8, false), [
    { key: "new", count: 3 },
    { key: "warming", count: 3 },
    { key: "busy", count: 2 },
  ]);
});

test("the container state machine refuses transitions outside its table", (t) => {
  const c = new Container("k", { functionName: "f", digest: "d", memoryMb: 128, maxConcurrency: 1, tenant: "" }, ContainerRole.EXECUTOR, new Map(), 0, () => {});
  c.transition(ContainerState.STARTING, "cold start");
  t.throws(() => c.transition(ContainerState.REMOVED, "skip"), { instanceOf: IllegalTransition });
  c.transition(ContainerState.REMOVING, "failed");
  c.transition(ContainerState.REMOVED, "failed");
  t.throws(() => c.transition(ContainerState.IDLE, "resurrect"), { instanceOf: IllegalTransition });
});

/** An executor of `lender` that has been turned into a zygote, idle. */
async function zygoteOf(pool: ContainerPool, runtime: MemoryRuntime, clock: FakeClock, lender: RunnableFunction) {
  const a = await pool.acquire(lender, clock.now() + 1000);
  pool.release(a.container);
  pool.apply([{ kind: "become-zygote", containerId: a.container.id, reason: "test" }]);
  await eventually(() => a.container.role === ContainerRole.ZYGOTE && a.container.state === ContainerState.IDLE, "the zygote to be ready", 5000, 1);
  t_assertZygote(runtime, a.container.sandbox!.id);
  return a.container;
}
function t_assertZygote(runtime: MemoryRuntime, sandboxId: string) {
  if (!runtime.zygotes.includes(sandboxId)) throw new Error("the sidecar was not asked to become a zygote");
}

test("become-zygote turns an idle executor into a zygote in place: no container is created", async (t) => {
  const { pool, runtime, clock, transitions } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  t.is(runtime.created, 1);
  t.is(z.formerFunction, "f");
  t.is(z.functionName, "");
  t.false(z.hasCapacity, "a zygote takes no invocations itself");
  t.deepEqual(transitions.slice(-2).map((x) => [ContainerState[x.to], ContainerRole[x.container.role]]), [["STARTING", "ZYGOTE"], ["IDLE", "ZYGOTE"]]);
});

test("a zygote's limit shrinks to what its sidecar and template hold (with headroom, above a floor) and grows back when lent", async (t) => {
  const { pool, runtime, clock, transitions } = setup(1024, 0, 4, lendFirst, { zygoteMemoryMb: 64 });
  runtime.zygoteRssMb = [40, 50];
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  t.is(z.memoryMb, 135, "1.5 × 90 MB");
  t.deepEqual(runtime.updates, [{ id: z.sandbox!.id, memoryMb: 135 }]);
  t.is(transitions.at(-1)!.container.memoryMb, 135, "the zygote's IDLE event carries the smaller limit");
  const lease = await pool.acquire(fn("g", 256, 1, { lodash: "4.17.21" }), clock.now() + 1000);
  t.is(lease.startKind, StartKind.HELPER);
  t.deepEqual(runtime.updates.at(-1), { id: z.sandbox!.id, memoryMb: 256 }, "lent: the renter's limit");
  // A small zygote stays at the floor; one holding more than its executor's limit keeps that limit.
  runtime.zygoteRssMb = [10, 10];
  t.is((await zygoteOf(pool, runtime, clock, fn("h", 256, 1, {}))).memoryMb, 64);
  runtime.zygoteRssMb = [100, 100];
  t.is((await zygoteOf(pool, runtime, clock, fn("k", 256, 1, {}))).memoryMb, 256);
});

test("a lent zygote's rider is answered before its limit has grown; other invocations wait for the resize", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst, { zygoteMemoryMb: 64 });
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  const g = fn("g", 256, 2, { lodash: "4.17.21" });
  runtime.updateGate = [];
  const first = await pool.acquire(g, clock.now() + 1000, runOf("inv-1"));
  t.is(first.startKind, StartKind.HELPER);
  t.truthy(first.result, "the rider ran with the fork, the update still pending");
  t.true(z.resizing);
  const second = pool.acquire(g, clock.now() + 1000);
  let got = false;
  void second.then(() => (got = true));
  await new Promise((r) => setImmediate(r));
  t.false(got, "a second invocation does not run under the zygote's limit");
  for (const r of runtime.updateGate.splice(0)) r();
  runtime.updateGate = undefined;
  const lease = await second;
  t.is(lease.container, z);
  t.false(z.resizing);
  t.deepEqual(runtime.updates.at(-1), { id: z.sandbox!.id, memoryMb: 256 });
});

test("a lent container whose limit cannot grow answers its rider and goes once idle", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst, { zygoteMemoryMb: 64 });
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  runtime.updateFailsWith = "docker said no";
  const lease = await pool.acquire(fn("g", 256, 1, { lodash: "4.17.21" }), clock.now() + 1000, runOf("inv-1"));
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.result?.status, InvocationStatus.OK);
  await eventually(() => z.retiring, "the container to be retired", 5000, 1);
  pool.release(lease.container);
  await eventually(() => z.state === ContainerState.REMOVED, "the container to be removed", 5000, 1);
  t.pass();
});

test("an idle zygote that covers a function is lent to it (HELPER): code injected, limit resized, template forked", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21", ms: "2.1.3" }));
  const g = fn("g", 512, 1, { lodash: "4.17.21" });
  const lease = await pool.acquire(g, clock.now() + 1000);
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.container, z);
  t.is(z.role, ContainerRole.HELPER);
  t.is(z.functionName, "g");
  t.is(runtime.created, 1, "no container was created for g");
  t.deepEqual(runtime.injected, ["/store/g/code"], "a zygote gets the code only: its set holds the packages");
  t.deepEqual(runtime.updates, [{ id: z.sandbox!.id, memoryMb: 512 }]);
  t.deepEqual(runtime.forks.map((f) => f.function), ["g"]);
  pool.release(lease.container);
  const again = await pool.acquire(g, clock.now() + 1000);
  t.is(again.startKind, StartKind.WARM, "a helper then serves its function warm");
});

test("a zygote whose set lacks a dependency (or has another version) is not lent: the function starts cold", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  const other = await pool.acquire(fn("g", 256, 1, { lodash: "4.17.20" }), clock.now() + 1000);
  t.is(other.startKind, StartKind.COLD);
  const missing = await pool.acquire(fn("h", 256, 1, { ms: "2.1.3" }), clock.now() + 1000);
  t.is(missing.startKind, StartKind.COLD);
  t.is(runtime.forks.length, 0);
});

test("a stem cell is claimed by any function (PREWARM) with its full code, node_modules included", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  pool.apply([{ kind: "start-stem-cell", reason: "test" }]);
  const cell = pool.all()[0];
  t.is(cell.role, ContainerRole.STEM_CELL);
  await eventually(() => cell.state === ContainerState.IDLE, "the stem cell to start", 5000, 1);
  const lease = await pool.acquire(fn("g", 256, 1, { jimp: "1.6.0" }), clock.now() + 1000);
  t.is(lease.startKind, StartKind.PREWARM);
  t.is(lease.container, cell);
  t.is(cell.role, ContainerRole.EXECUTOR);
  t.deepEqual(runtime.injected, ["/store/g/full"]);
});

test("without a policy that lends, zygotes are never used", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, undefined);
  await zygoteOf(pool, runtime, clock, fn("f", 256, 1, {}));
  const lease = await pool.acquire(fn("g"), clock.now() + 1000);
  t.is(lease.startKind, StartKind.COLD);
});

test("a lending that fails removes the zygote and the invocation starts cold instead", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, fn("f"));
  runtime.forkFailsWith = "template died";
  const lease = await pool.acquire(fn("g"), clock.now() + 1000);
  t.is(lease.startKind, StartKind.COLD);
  t.is(z.state, ContainerState.REMOVED);
});

test("a lending's fork carries the invocation waiting for it: the lease holds its result", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, fn("f", 256, 1, { ms: "2.1.3" }));
  const lease = await pool.acquire(fn("g", 256, 1, { ms: "2.1.3" }), clock.now() + 1000, runOf("inv-1"));
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.container, z);
  t.is(lease.result?.invocationId, "inv-1");
  t.deepEqual(runtime.forks.map((f) => f.firstRun), ["inv-1"]);
  t.is(z.inflight, 1, "the rider holds a slot until it is released");
  t.is(z.state, ContainerState.BUSY);
  pool.release(lease.container);
  t.is(z.inflight, 0);
});

test("a rider takes one of the lent container's slots: the next waiter gets a start of its own", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  await zygoteOf(pool, runtime, clock, fn("f"));
  const g = fn("g");
  const [first, second] = await Promise.all([pool.acquire(g, clock.now() + 1000, runOf("a")), pool.acquire(g, clock.now() + 1000, runOf("b"))]);
  t.is(first.startKind, StartKind.HELPER);
  t.is(first.result?.invocationId, "a");
  t.is(second.startKind, StartKind.COLD, "the second invocation did not wait for the helper's only slot");
  t.is(second.result, undefined);
  t.is(runtime.created, 2);
});

test("a fork the sidecar refused puts its rider back in the queue: it starts cold, and runs once", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, fn("f"));
  runtime.forkRefusedWith = "the template did not load g";
  const lease = await pool.acquire(fn("g"), clock.now() + 1000, runOf("inv-2"));
  t.is(lease.startKind, StartKind.COLD);
  t.is(lease.result, undefined, "its Run is still to be sent");
  t.is(z.state, ContainerState.REMOVED);
});

test("a fork that broke after it was sent fails its rider: it may have run, and must not run twice", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  await zygoteOf(pool, runtime, clock, fn("f"));
  runtime.forkFailsWith = "connection reset";
  const err = await t.throwsAsync(pool.acquire(fn("g"), clock.now() + 1000, runOf("inv-3")), { instanceOf: StartFailedError });
  t.regex(err!.message, /connection reset/);
  t.is(runtime.created, 1, "no cold start was made for it");
});

test("prewarm-executor starts an executor of a known function ahead of its arrival; the arrival is WARM", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const f = fn("f");
  const a = await pool.acquire(f, clock.now() + 1000);
  pool.release(a.container);
  pool.apply([{ kind: "remove", containerId: a.container.id, reason: "unload" }]);
  await eventually(() => pool.all().length === 0, "the container to go", 5000, 1);
  pool.apply([{ kind: "prewarm-executor", functionName: "f", reason: "pre-warm window" }]);
  await eventually(() => pool.all()[0]?.state === ContainerState.IDLE, "the pre-warmed executor", 5000, 1);
  const b = await pool.acquire(f, clock.now() + 1000);
  t.is(b.startKind, StartKind.WARM);
  t.is(runtime.created, 2);
});

test("the view lists the package sets of the node's functions; start-zygote of one starts a zygote from the set's image, lent as HELPER", async (t) => {
  const { pool, runtime, clock } = setup(2048, 0, 4, lendFirst);
  const withSet = (f: RunnableFunction): RunnableFunction => ({ ...f, zygoteSet: { id: "S1", image: "zygote-s1" } });
  const f = withSet(fn("f", 256, 1, { lodash: "4.17.21", ms: "2.1.3" }));
  const g = withSet({ ...fn("g", 512, 1, { lodash: "4.17.21" }), packages: f.packages });
  const a = await pool.acquire(f, clock.now() + 1000);
  pool.release(a.container);
  const b = await pool.acquire(g, clock.now() + 1000);
  pool.release(b.container);
  const sets = pool.view().packageSets;
  t.deepEqual(
    sets.map((s) => ({ id: s.id, image: s.image, packages: [...s.packages.keys()].sort(), functions: [...s.functions].sort() })),
    [{ id: "S1", image: "zygote-s1", packages: ["lodash", "ms"], functions: ["f", "g"] }],
  );
  pool.apply([{ kind: "start-zygote", setId: "unknown", reason: "test" }]);
  t.is(runtime.created, 2, "a set nobody here builds from starts nothing");
  pool.apply([{ kind: "start-zygote", setId: "S1", reason: "reserve" }]);
  await eventually(() => pool.all().some((c) => c.role === ContainerRole.ZYGOTE && c.state === ContainerState.IDLE), "the zygote to start", 5000, 1);
  const z = pool.all().find((c) => c.role === ContainerRole.ZYGOTE)!;
  t.deepEqual([...z.packages.keys()].sort(), ["lodash", "ms"]);
  t.is(runtime.created, 3);
  // Both containers busy: the next g is forked from the zygote.
  const busyF = await pool.acquire(f, clock.now() + 1000);
  const busyG = await pool.acquire(g, clock.now() + 1000);
  const c = await pool.acquire(g, clock.now() + 1000);
  t.is(c.startKind, StartKind.HELPER);
  t.is(c.container, z);
  t.is(runtime.created, 3, "no container was created for the scale-up");
  for (const l of [busyF, busyG, c]) pool.release(l.container);
});

test("the policy view carries each function's arrivals, idle times and cold starts", async (t) => {
  const { pool, clock } = setup(1024, 0, 4, lendFirst);
  const f = fn("f");
  const a = await pool.acquire(f, clock.now() + 1000);
  pool.release(a.container);
  clock.advance(5000);
  const b = await pool.acquire(f, clock.now() + 1000);
  pool.release(b.container);
  const view = pool.view().functions.find((x) => x.name === "f")!;
  t.is(view.arrivals.length, 2);
  t.deepEqual(view.idleTimesMs, [5000]);
  t.is(view.coldStarts.length, 1);
  t.is(view.idleSince, clock.now());
});

test("the policy view records how many containers each arrival needed: running, queued and it, over the concurrency", async (t) => {
  const { pool, clock } = setup(4096, 0, 4, lendFirst);
  const f = fn("f");
  const a = await pool.acquire(f, clock.now() + 1000);
  const b = await pool.acquire(f, clock.now() + 1000);
  // Two running, one more arrives: 3 (it waits for the container started for it).
  const c = pool.acquire(f, clock.now() + 1000);
  pool.release(a.container);
  pool.release(b.container);
  pool.release((await c).container);
  const d = await pool.acquire(f, clock.now() + 1000);
  pool.release(d.container);
  t.deepEqual(pool.view().functions.find((x) => x.name === "f")!.arrivalLevels, [1, 2, 3, 1]);
  // Two invocations per container: the 3rd in flight needs a second container.
  const g = fn("g", 256, 2);
  const leases = [await pool.acquire(g, clock.now() + 1000), await pool.acquire(g, clock.now() + 1000), await pool.acquire(g, clock.now() + 1000)];
  for (const l of leases) pool.release(l.container);
  t.deepEqual(pool.view().functions.find((x) => x.name === "g")!.arrivalLevels, [1, 1, 2]);
});

const ofTenant = (f: RunnableFunction, tenant: string): RunnableFunction => ({ ...f, tenant });

test("a zygote that was one tenant's executor is lent to that tenant's functions only", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const z = await zygoteOf(pool, runtime, clock, ofTenant(fn("acme_f", 256, 1, { lodash: "4.17.21" }), "acme"));
  t.is(z.tenant, "acme", "the zygote remembers whose code ran in it");
  const other = await pool.acquire(ofTenant(fn("globex_g", 256, 1, { lodash: "4.17.21" }), "globex"), clock.now() + 1000);
  t.is(other.startKind, StartKind.COLD, "another tenant's function gets a container of its own");
  t.is(z.role, ContainerRole.ZYGOTE, "the zygote is still waiting");
  const same = await pool.acquire(ofTenant(fn("acme_h", 256, 1, { lodash: "4.17.21" }), "acme"), clock.now() + 1000);
  t.is(same.startKind, StartKind.HELPER);
  t.is(same.container, z);
});

test("with cross-tenant sharing on, a zygote is lent to any tenant's function it covers", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst, { crossTenantSharing: true });
  const z = await zygoteOf(pool, runtime, clock, ofTenant(fn("acme_f", 256, 1, { lodash: "4.17.21" }), "acme"));
  const lease = await pool.acquire(ofTenant(fn("globex_g", 256, 1, { lodash: "4.17.21" }), "globex"), clock.now() + 1000);
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.container, z);
  t.is(z.tenant, "globex");
});

/** Converts and lends the first candidate offered: the pool's side of on-demand conversion. */
const convertFirst: StartupPolicy = { ...lendFirst, name: "convert-first", convertForRenter: (_renter, candidates) => candidates[0]?.id };

/** An idle executor of f, its last use released. */
async function idleExecutorOf(pool: ContainerPool, clock: FakeClock, f: RunnableFunction) {
  const a = await pool.acquire(f, clock.now() + 1000);
  pool.release(a.container);
  return a.container;
}

test("a start with nothing to lend converts the policy's choice of another function's idle executor and lends it: no container is created", async (t) => {
  const { pool, runtime, clock, transitions } = setup(1024, 0, 4, convertFirst);
  const a = await idleExecutorOf(pool, clock, fn("f", 256, 1, { lodash: "4.17.21", ms: "2.1.3" }));
  const lease = await pool.acquire(fn("g", 512, 1, { lodash: "4.17.21" }), clock.now() + 1000, runOf("g-1"));
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.container, a);
  t.is(lease.result?.invocationId, "g-1", "the invocation rode the fork");
  t.is(runtime.created, 1, "no container was created for g");
  t.deepEqual(runtime.zygotes, [a.sandbox!.id], "the sidecar was turned into a zygote first");
  t.deepEqual(runtime.forks.map((f) => f.function), ["g"]);
  t.deepEqual(runtime.updates, [{ id: a.sandbox!.id, memoryMb: 512 }], "grown to g's limit, never shrunk on the way");
  t.is(a.role, ContainerRole.HELPER);
  t.is(a.formerFunction, "");
  const reasons = transitions.filter((x) => x.container === a).map((x) => x.reason);
  t.true(reasons.includes("converted on demand for g"));
});

test("on-demand conversion: only containers that cover the renter are offered, and a policy that picks none leaves a cold start", async (t) => {
  const offered: string[][] = [];
  const record: StartupPolicy = { ...lendFirst, name: "record", convertForRenter: (_r, candidates) => (offered.push(candidates.map((c) => c.functionName)), undefined) };
  const { pool, runtime, clock } = setup(1024, 0, 4, record);
  await idleExecutorOf(pool, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  await idleExecutorOf(pool, clock, fn("h", 256, 1, { ms: "2.1.3" }));
  const lease = await pool.acquire(fn("g", 256, 1, { lodash: "4.17.21" }), clock.now() + 1000);
  t.is(lease.startKind, StartKind.COLD);
  t.is(runtime.created, 3);
  t.deepEqual(offered.at(-1), ["f"], "h's image lacks lodash");
  t.deepEqual(runtime.zygotes, []);
});

test("a conversion under way counts as a start coming for its queue: no cold start is added for the same waiter", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, convertFirst);
  const a = await idleExecutorOf(pool, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  runtime.zygoteGate = [];
  const g = fn("g", 256, 1, { lodash: "4.17.21" });
  const first = pool.acquire(g, clock.now() + 5000, runOf("g-1"));
  await eventually(() => runtime.zygoteGate!.length === 1, "the conversion to begin", 5000, 1);
  pool.reconsider();
  t.is(runtime.created, 1, "nothing was created while the conversion runs");
  // A second waiter is not covered by the conversion (concurrency 1): it gets a start of its own.
  const second = pool.acquire(g, clock.now() + 5000, runOf("g-2"));
  await eventually(() => runtime.created === 2, "a cold start for the second waiter", 5000, 1);
  runtime.zygoteGate.shift()!();
  runtime.zygoteGate = undefined;
  // The cold container was ready first and took the oldest waiter; the conversion serves the other.
  const leases = await Promise.all([first, second]);
  t.deepEqual(leases.map((l) => StartKind[l.startKind]).sort(), ["COLD", "HELPER"]);
  t.is(leases.find((l) => l.startKind === StartKind.HELPER)!.container, a);
  t.is(runtime.created, 2);
});

test("a converted container that nobody waits for any more stays a zygote, shrunk and idle", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, convertFirst, { zygoteMemoryMb: 64 });
  const f = fn("f", 256, 1, { lodash: "4.17.21" });
  const g = fn("g", 256, 1, { lodash: "4.17.21" });
  const gExecutor = await pool.acquire(g, clock.now() + 5000); // g's container, busy
  const a = await idleExecutorOf(pool, clock, f);
  runtime.zygoteGate = [];
  const waiting = pool.acquire(g, clock.now() + 5000);
  await eventually(() => runtime.zygoteGate!.length === 1, "the conversion to begin", 5000, 1);
  pool.release(gExecutor.container); // the waiter is served warm meanwhile
  const lease = await waiting;
  t.is(lease.startKind, StartKind.WARM);
  runtime.zygoteGate.shift()!();
  runtime.zygoteGate = undefined;
  await eventually(() => a.state === ContainerState.IDLE, "the zygote to be ready", 5000, 1);
  t.is(a.role, ContainerRole.ZYGOTE);
  t.is(a.formerFunction, "f");
  t.is(a.memoryMb, 105, "shrunk to 1.5x what it holds (30 + 40 MB)");
  t.is(runtime.forks.length, 0);
});

test("an arrival that finds a zygote being made that covers it waits for it instead of starting cold, even its own former executor", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const f = fn("f", 256, 1, { lodash: "4.17.21" });
  const a = await idleExecutorOf(pool, clock, f);
  runtime.zygoteGate = [];
  pool.apply([{ kind: "become-zygote", containerId: a.id, reason: "zygote time" }]);
  await eventually(() => runtime.zygoteGate!.length === 1, "the conversion to begin", 5000, 1);
  const waiting = pool.acquire(f, clock.now() + 5000, runOf("f-2"));
  pool.reconsider();
  t.is(runtime.created, 1, "no container was created while the zygote is being made");
  runtime.zygoteGate.shift()!();
  runtime.zygoteGate = undefined;
  const lease = await waiting;
  t.is(lease.container, a);
  t.is(lease.startKind, StartKind.HELPER);
  t.is(lease.result?.invocationId, "f-2");
  t.is(runtime.created, 1);
});

test("a zygote being made for nobody is not waited for by a function it does not cover", async (t) => {
  const { pool, runtime, clock } = setup(1024, 0, 4, lendFirst);
  const a = await idleExecutorOf(pool, clock, fn("f", 256, 1, { lodash: "4.17.21" }));
  runtime.zygoteGate = [];
  pool.apply([{ kind: "become-zygote", containerId: a.id, reason: "zygote time" }]);
  await eventually(() => runtime.zygoteGate!.length === 1, "the conversion to begin", 5000, 1);
  const lease = await pool.acquire(fn("g", 256, 1, { ms: "2.1.3" }), clock.now() + 5000);
  t.is(lease.startKind, StartKind.COLD);
  runtime.zygoteGate.shift()!();
  runtime.zygoteGate = undefined;
  await eventually(() => a.state === ContainerState.IDLE && a.role === ContainerRole.ZYGOTE, "the zygote to be ready", 5000, 1);
});
