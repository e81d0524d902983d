// The containers of one node: which container serves an invocation, when a new one is created, and what
// is removed. An invocation without a free slot waits in its function's queue and takes the first slot
// that frees: in a running container, in a zygote or stem cell lent to it (the policy picks which), or in
// a container started meanwhile. How many containers start is decided by planStarts; which idle
// containers go, turn into zygotes or are started ahead of demand, by a StartupPolicy; this module applies
// both. Docker is reached only through the SandboxRuntime interface.
import type { Logger } from "../../common/logger.js";
import type { Clock } from "../../common/clock.js";
import { stopwatch } from "../../common/clock.js";
import { shortId } from "../../common/ids.js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import type { ForkResponse, RunRequestSchema, RunResponse } from "../../gen/faas/sidecar/v1/sidecar_pb.js";
import { LABELS } from "./labels.js";
import { Container, ContainerRole, ContainerState, NO_FUNCTION, type Assignment, type TransitionListener } from "./container.js";
import { FunctionHistory } from "./function-history.js";
import { covers, type ContainerView, type NodeView, type Packages, type PackageSetView, type PolicyAction, type StartupPolicy } from "./policies/policy.js";
import { planStarts, type FunctionDemand } from "./policies/scale-up.js";
import type { Channel, Sandbox, SandboxRuntime, SandboxSpec } from "./sandbox/runtime.js";

/** What the pool needs to know to run a function. */
export interface RunnableFunction {
  readonly name: string;
  readonly digest: string;
  /** The tenant whose namespace holds it: it may borrow only containers no other tenant's code ran in. */
  readonly tenant?: string;
  readonly memoryMb: number;
  readonly maxConcurrency: number;
  readonly sandboxSpec: SandboxSpec;
  /** Its exact-pinned dependencies: a zygote covers it when its set holds them all. */
  readonly dependencies?: Packages;
  /** The package set its own image holds (what its executors cover once they are zygotes). */
  readonly packages?: Packages;
  /** That set's id and zygote image, from which a spare zygote of the set can start; undefined without a set. */
  readonly zygoteSet?: { readonly id: string; readonly image: string };
  /** How to hand it a zygote or stem cell; undefined: it cannot be (its code is not on this host). */
  readonly claim?: ClaimSpec;
}

export interface ClaimSpec {
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Worker processes the sidecar may run the function in. */
  readonly workers: number;
  /** Host directory with the function's code only (for zygotes, whose set covers its packages). */
  readonly codeDir: string;
  /** Host directory with its code and all its node_modules (for stem cells, which hold no packages). */
  readonly fullCodeDir: string;
}

/** How the node starts containers that wait for a function: stem cells and zygotes of a package set. */
export interface SpareSpecs {
  stemCell(): SandboxSpec;
  zygote(set: PackageSetView): SandboxSpec;
}

export interface Lease {
  readonly container: Container;
  readonly channel: Channel;
  readonly startKind: StartKind;
  /** Waiting for memory on this node. */
  readonly queuedUs: bigint;
  /** Creating and starting the container (COLD), 0 for WARM. */
  readonly startupUs: bigint;
  /** The invocation already ran: the fork that lent the container carried it (ForkRequest.first_run). */
  readonly result?: RunResponse;
}

export type RunRequestInit = MessageInitShape<typeof RunRequestSchema>;

/** The node cannot fit the container within the wait allowed. */
export class NoCapacityError extends Error {}
/** The container could not be created or did not become ready. */
export class StartFailedError extends Error {}

export interface PoolOptions {
  readonly runtime: SandboxRuntime;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly memoryCapacityMb: number;
  readonly keyPrefix: string;
  readonly onTransition: TransitionListener;
  /**
   * A container left without invocations turns IDLE only after this long: back-to-back invocations keep
   * it BUSY instead of costing two published state changes each. 0: at once.
   */
  readonly idleAfterMs?: number;
  /** Containers that may be starting at once on this node. */
  readonly maxStarts: number;
  /** True while the node's CPUs have nothing to spare (see planStarts). Default: never. */
  readonly cpuSaturated?: () => boolean;
  /** Decides lending and what happens to idle containers. Default: none (nothing is lent). */
  readonly policy?: StartupPolicy;
  /** Lend containers across tenants (CROSS_TENANT_SHARING). Default false: within a tenant only. */
  readonly crossTenantSharing?: boolean;
  /** Needed by policies that start stem cells or zygotes. */
  readonly spares?: SpareSpecs;
  /** Memory limit of a stem cell or a zygote started empty; a lent one gets its function's. */
  readonly spareMemoryMb?: number;
  /** The popular package set (SOCK) with its image, once known. */
  readonly popularSet?: () => PackageSetView | undefined;
  /** How long a sidecar may take to turn into a zygote. */
  readonly zygoteTimeoutMs?: number;
  /**
   * An executor turned zygote has its limit shrunk to at least this, and at least ZYGOTE_RSS_HEADROOM
   * times what its sidecar and template hold; it grows back to the renter's limit when lent. 0: kept.
   */
  readonly zygoteMemoryMb?: number;
}

/** A shrunk zygote's limit over the resident memory of its sidecar and template: room for both to breathe. */
export const ZYGOTE_RSS_HEADROOM = 1.5;

const EMPTY: Packages = new Map();

/** Removed or being removed: a container some await came back to after it left. */
const isGone = (c: Container): boolean => c.state === ContainerState.REMOVING || c.state === ContainerState.REMOVED;

const assignmentOf = (fn: RunnableFunction): Assignment => ({ functionName: fn.name, digest: fn.digest, memoryMb: fn.memoryMb, maxConcurrency: fn.maxConcurrency, tenant: fn.tenant ?? "" });

function containerView(c: Container): ContainerView {
  return {
    id: c.id,
    functionName: c.functionName,
    role: c.role,
    state: c.state,
    inflight: c.inflight,
    memoryMb: c.memoryMb,
    lastUsedAt: c.lastUsedAt,
    createdAt: c.createdAt,
    roleSince: c.roleSince,
    packages: c.packages,
    formerFunction: c.formerFunction,
  };
}

/** An invocation waiting for a slot in a container of its function. */
interface Waiter {
  readonly fn: RunnableFunction;
  readonly waited: () => bigint;
  /** Containers that became ready before this waiter arrived do not count as started for it. */
  readonly readyEpoch: number;
  /** Arrival order across all queues. */
  readonly seq: number;
  /** What the invocation asks the sidecar: the fork lending a container to it may carry it. */
  readonly run: RunRequestInit | undefined;
  readonly deadlineMs: number;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

interface FunctionQueue {
  readonly fn: RunnableFunction;
  readonly waiters: Waiter[];
}

const queueKey = (name: string, digest: string) => `${name}@${digest}`;

/** A Fork error after which the invocation it carried certainly did not run: the sidecar refused it. */
function refusedBeforeRunning(err: unknown): boolean {
  return err instanceof ConnectError && (err.code === Code.FailedPrecondition || err.code === Code.InvalidArgument);
}

export class ContainerPool {
  private readonly containers = new Map<string, Container>();
  /** Lent containers whose fork carries an invocation (the first of its function's queue). */
  private readonly riders = new Map<Container, Waiter>();
  /** Containers being created, with when their start began. */
  private readonly starting = new Map<Container, () => bigint>();
  /**
   * Containers being turned into zygotes, with the key of the queue that claimed the zygote (it is lent
   * there once ready), or undefined while none has (the policy's conversion, waiting to be lent later).
   */
  private readonly converting = new Map<Container, string | undefined>();
  /** Invocations waiting for a slot, per function version, oldest first. */
  private readonly queues = new Map<string, FunctionQueue>();
  /** Containers with no invocation running that are not yet reported IDLE. */
  private readonly lingering = new Map<Container, NodeJS.Timeout>();
  /** Counts containers becoming ready, to tell a waiter's fresh container (COLD) from one it found (WARM). */
  private readyEpoch = 0;
  private readonly readyAt = new Map<Container, number>();
  private arrivals = 0;
  /** The latest version of every function invoked here (policies may start its executors). */
  private readonly known = new Map<string, RunnableFunction>();
  /** The CPU limit each container was created or last updated with (undefined: the runtime's default). */
  private readonly cpusOf = new WeakMap<Container, number | undefined>();
  private readonly history: FunctionHistory;
  private pumping = false;
  private closed = false;
  private pumpAgain = false;

  constructor(private readonly o: PoolOptions) {
    this.history = new FunctionHistory();
  }

  /** Memory promised to containers that exist or are being created or removed. */
  get reservedMb(): number {
    let sum = 0;
    for (const c of this.containers.values()) sum += c.memoryMb;
    return sum;
  }

  get inflight(): number {
    let sum = 0;
    for (const c of this.containers.values()) sum += c.inflight;
    return sum;
  }

  /** Invocations waiting for a container slot. */
  get queued(): number {
    let sum = 0;
    for (const q of this.queues.values()) sum += q.waiters.length;
    return sum;
  }

  all(): Container[] {
    return [...this.containers.values()];
  }

  get(id: string): Container | undefined {
    return this.containers.get(id);
  }

  view(): NodeView {
    return {
      memoryCapacityMb: this.o.memoryCapacityMb,
      containers: this.all().map(containerView),
      functions: [...this.known.values()].map((fn) => this.history.view(fn.name, fn.dependencies ?? EMPTY, fn.memoryMb)),
      popularSet: this.o.popularSet?.(),
      packageSets: this.packageSets(),
    };
  }

  /** The package sets the node's functions build from, with the functions of each that may borrow a zygote. */
  private packageSets(): PackageSetView[] {
    const sets = new Map<string, { id: string; image: string; packages: Packages; functions: string[] }>();
    for (const fn of this.known.values()) {
      if (!fn.zygoteSet || !fn.claim) continue;
      const set = sets.get(fn.zygoteSet.id) ?? { ...fn.zygoteSet, packages: fn.packages ?? EMPTY, functions: [] };
      set.functions.push(fn.name);
      sets.set(set.id, set);
    }
    return [...sets.values()];
  }

  /** Asks the policy what to do now and does it. */
  tick(): void {
    if (this.o.policy && !this.closed) this.apply(this.o.policy.decide(this.view(), this.o.clock.now()));
  }

  /**
   * A container slot for one invocation of fn: a free slot in a running container of fn when nobody waits
   * for one (WARM), else a place in fn's queue, served by the first slot that frees or the first container
   * that starts (COLD when that container was not ready when the invocation arrived). Containers are
   * started for the queue as planStarts says, evicting idle containers of other functions for memory.
   * Rejects with NoCapacityError when no slot comes before deadlineMs. run is the request the invocation
   * will send: when a zygote or stem cell is lent to it, the fork carries it and the lease has the result.
   */
  acquire(fn: RunnableFunction, deadlineMs: number, run?: RunRequestInit): Promise<Lease> {
    if (this.closed) return Promise.reject(new StartFailedError("the node is stopping"));
    this.known.set(fn.name, fn);
    this.history.arrived(fn.name, this.o.clock.now(), this.containersNeeded(fn));
    const key = queueKey(fn.name, fn.digest);
    const queue = this.queues.get(key);
    if (!queue || queue.waiters.length === 0) {
      const warm = this.findWarm(fn);
      if (warm) {
        this.occupy(warm);
        return Promise.resolve({ container: warm, channel: this.o.runtime.channel(warm.sandbox!), startKind: StartKind.WARM, queuedUs: 0n, startupUs: 0n });
      }
    }
    if (fn.memoryMb > this.o.memoryCapacityMb) {
      return Promise.reject(new NoCapacityError(`function needs ${fn.memoryMb} MB but the node has ${this.o.memoryCapacityMb} MB in all`));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { fn, waited: stopwatch(), readyEpoch: this.readyEpoch, seq: ++this.arrivals, run, deadlineMs, resolve, reject, timer: undefined };
      this.enqueue(waiter, "back");
      this.pump();
    });
  }

  private enqueue(waiter: Waiter, end: "front" | "back"): void {
    const key = queueKey(waiter.fn.name, waiter.fn.digest);
    const q = this.queues.get(key) ?? { fn: waiter.fn, waiters: [] };
    if (end === "back") q.waiters.push(waiter);
    else q.waiters.unshift(waiter);
    this.queues.set(key, q);
    const remaining = Math.max(0, waiter.deadlineMs - this.o.clock.now());
    waiter.timer = setTimeout(() => this.expire(key, waiter, remaining), remaining);
  }

  /** The head of fn's queue, taken out to ride the fork that lends c to fn; undefined if it cannot. */
  private takeRider(c: Container, fn: RunnableFunction): Waiter | undefined {
    const key = queueKey(fn.name, fn.digest);
    const q = this.queues.get(key);
    if (!q || q.waiters.length === 0 || !q.waiters[0].run) return undefined;
    const w = q.waiters.shift()!;
    clearTimeout(w.timer);
    if (q.waiters.length === 0) this.queues.delete(key);
    this.riders.set(c, w);
    return w;
  }

  /** Invocations of fn riding forks, out of its queue but still waiting for a slot. */
  private ridersOf(fn: RunnableFunction): number {
    let n = 0;
    for (const w of this.riders.values()) if (w.fn.name === fn.name && w.fn.digest === fn.digest) n++;
    return n;
  }

  /** Gives an invocation's slot back. A broken container (its sidecar failed) is removed. */
  release(container: Container, broken = false): void {
    container.inflight--;
    container.invocations++;
    container.lastUsedAt = this.o.clock.now();
    // Only a container left with nothing running can leave its function with nothing running.
    if (container.inflight === 0 && !this.busy(container.functionName)) this.history.idle(container.functionName, container.lastUsedAt);
    if (broken || (container.retiring && container.inflight === 0)) {
      void this.remove(container, broken ? "sidecar failed" : "retired");
    } else if (!this.serveQueue(container) && container.inflight === 0 && container.state === ContainerState.BUSY) {
      this.becomeIdle(container);
      // Idle now (or soon): evictable for another function's queue.
      if (this.queues.size > 0) this.pump();
    }
  }

  private becomeIdle(c: Container): void {
    const afterMs = this.o.idleAfterMs ?? 0;
    if (afterMs === 0) return c.transition(ContainerState.IDLE, "invocation done");
    if (this.lingering.has(c)) return;
    const timer = setTimeout(() => {
      this.lingering.delete(c);
      if (c.inflight === 0 && c.state === ContainerState.BUSY) {
        c.transition(ContainerState.IDLE, `no invocation for ${afterMs} ms`);
        // Now evictable: a queue short of memory may get it.
        this.pump();
      }
    }, afterMs);
    timer.unref();
    this.lingering.set(c, timer);
  }

  /** Applies a policy's decisions; actions on containers that changed since are skipped. */
  apply(actions: readonly PolicyAction[]): void {
    for (const a of actions) {
      if (a.kind === "remove" || a.kind === "become-zygote") {
        const c = this.containers.get(a.containerId);
        if (!c || c.state !== ContainerState.IDLE || c.inflight !== 0) continue;
        if (a.kind === "remove") void this.remove(c, a.reason);
        // A host-network or non-root container never becomes a zygote (see isUnshareable).
        else if ((c.role === ContainerRole.EXECUTOR || c.role === ContainerRole.HELPER) && !isUnshareable(this.known.get(c.functionName)?.sandboxSpec)) void this.becomeZygote(c, a.reason);
      } else if (a.kind === "start-stem-cell") {
        if (this.o.spares) this.startSpare(ContainerRole.STEM_CELL, this.o.spares.stemCell(), EMPTY, a.reason);
      } else if (a.kind === "start-zygote") {
        const popular = this.o.popularSet?.();
        const set = popular?.id === a.setId ? popular : this.packageSets().find((s) => s.id === a.setId);
        if (this.o.spares && set) this.startSpare(ContainerRole.ZYGOTE, this.o.spares.zygote(set), set.packages, a.reason);
      } else if (a.kind === "prewarm-executor") {
        const fn = this.known.get(a.functionName);
        if (fn && this.starting.size < this.o.maxStarts && this.makeRoom(fn.memoryMb)) void this.coldStart(fn, a.reason);
      }
    }
  }

  /** Containers fn's invocations need with one more arrival: those running, queued or riding a fork, over its concurrency. */
  private containersNeeded(fn: RunnableFunction): number {
    let invocations = 1 + this.ridersOf(fn) + (this.queues.get(queueKey(fn.name, fn.digest))?.waiters.length ?? 0);
    for (const c of this.containers.values()) if (c.functionName === fn.name) invocations += c.inflight;
    return Math.ceil(invocations / Math.max(1, fn.maxConcurrency));
  }

  /** True while an invocation of the function runs or waits here. */
  private busy(functionName: string): boolean {
    for (const c of this.containers.values()) if (c.functionName === functionName && c.inflight > 0) return true;
    for (const q of this.queues.values()) if (q.fn.name === functionName && q.waiters.length > 0) return true;
    return false;
  }

  /** Retires every container of fn that does not run the given digest (all of them when digest is undefined). */
  retire(functionName: string, keepDigest: string | undefined, reason: string): number {
    if (keepDigest === undefined) {
      this.known.delete(functionName);
      this.history.forget(functionName);
    }
    let n = 0;
    for (const c of this.containers.values()) {
      if (c.functionName !== functionName || c.digest === keepDigest || c.retiring) continue;
      c.retiring = true;
      n++;
      // BUSY with nothing running: lingering before it turns IDLE (idleAfterMs).
      if (c.inflight === 0 && (c.state === ContainerState.IDLE || c.state === ContainerState.BUSY)) void this.remove(c, reason);
    }
    return n;
  }

  /** Takes over a running container found after a restart. */
  adopt(sandbox: Sandbox, key: string, fn: RunnableFunction, createdAt: number): Container {
    const c = new Container(key, assignmentOf(fn), ContainerRole.EXECUTOR, fn.packages ?? EMPTY, createdAt, this.o.onTransition);
    c.sandbox = sandbox;
    c.lastUsedAt = this.o.clock.now();
    this.containers.set(c.id, c);
    c.transition(ContainerState.IDLE, "adopted after restart");
    return c;
  }

  async remove(c: Container, reason: string): Promise<void> {
    if (c.state === ContainerState.REMOVING || c.state === ContainerState.REMOVED) return;
    clearTimeout(this.lingering.get(c));
    this.lingering.delete(c);
    c.transition(ContainerState.REMOVING, reason);
    try {
      if (c.sandbox) await this.o.runtime.destroy(c.sandbox.id);
    } catch (err) {
      this.o.logger.error({ container: c.id, err: (err as Error).message }, "container removal failed");
    }
    this.containers.delete(c.id);
    this.readyAt.delete(c);
    c.transition(ContainerState.REMOVED, reason);
    this.pump();
  }

  /** Stops serving: waiting invocations fail, nothing starts any more, every container is removed. */
  async removeAll(reason: string): Promise<void> {
    this.closed = true;
    for (const q of this.queues.values()) {
      for (const w of q.waiters) {
        clearTimeout(w.timer);
        w.reject(new StartFailedError(`the node is stopping (${reason})`));
      }
    }
    this.queues.clear();
    await Promise.all(this.all().map((c) => this.remove(c, reason)));
  }

  private findWarm(fn: RunnableFunction): Container | undefined {
    let best: Container | undefined;
    for (const c of this.containers.values()) {
      if (c.functionName !== fn.name || c.digest !== fn.digest || !c.hasCapacity) continue; // hasCapacity: executors and helpers only
      if (c.state !== ContainerState.IDLE && c.state !== ContainerState.BUSY) continue;
      // Fill the busiest container first, then the most recently used, so that the others can expire.
      if (!best || c.inflight > best.inflight || (c.inflight === best.inflight && c.lastUsedAt > best.lastUsedAt)) best = c;
    }
    return best;
  }

  private occupy(c: Container): void {
    const timer = this.lingering.get(c);
    if (timer) {
      clearTimeout(timer);
      this.lingering.delete(c);
    }
    c.inflight++;
    if (c.state === ContainerState.IDLE || c.state === ContainerState.STARTING) c.transition(ContainerState.BUSY, "invocation");
  }

  /** Hands free slots of a ready container to the waiters of its function. True when any was handed. */
  private serveQueue(c: Container, startup?: () => bigint): boolean {
    const key = queueKey(c.functionName, c.digest);
    const q = this.queues.get(key);
    if (!q || c.retiring) return false;
    const startedUs = startup?.();
    let served = false;
    while (q.waiters.length > 0 && c.hasCapacity) {
      const w = q.waiters.shift()!;
      clearTimeout(w.timer);
      this.occupy(c);
      served = true;
      const waited = w.waited();
      const cold = (this.readyAt.get(c) ?? 0) > w.readyEpoch;
      // A COLD invocation waited for its container's start; any wait before that start began is queueing.
      const startupUs = cold && startedUs !== undefined ? (startedUs < waited ? startedUs : waited) : 0n;
      if (cold && c.startKind === StartKind.COLD) this.history.coldStart(c.functionName, this.o.clock.now());
      w.resolve({ container: c, channel: this.o.runtime.channel(c.sandbox!), startKind: cold ? c.startKind : StartKind.WARM, queuedUs: waited - startupUs, startupUs });
    }
    if (q.waiters.length === 0) this.queues.delete(key);
    return served;
  }

  /** Looks at the queues again (the CPU meter calls it: a saturated node may have calmed down). */
  reconsider(): void {
    if (this.queues.size > 0) this.pump();
  }

  /** Starts the containers planStarts asks for, within memory. Re-entrant calls are folded into one more pass. */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    // A slot may have freed without a release (a container turned ready or a waiter arrived behind a warm one).
    for (const q of [...this.queues.values()]) {
      const warm = this.findWarm(q.fn);
      if (warm) this.serveQueue(warm);
    }
    if (this.queues.size === 0) return;
    this.lendToQueues();
    const demands: FunctionDemand[] = [];
    for (const [key, q] of this.queues) {
      let starting = 0;
      let running = 0;
      for (const c of this.containers.values()) {
        if (c.functionName !== q.fn.name || c.digest !== q.fn.digest || c.retiring) continue;
        // A lent container still growing its limit has its slots coming, as a starting one has.
        if (c.state === ContainerState.STARTING || c.resizing) starting++;
        else if (c.state === ContainerState.IDLE || c.state === ContainerState.BUSY) running++;
      }
      starting += this.conversionsFor(key);
      demands.push({ key, queued: q.waiters.length + this.ridersOf(q.fn), starting, running, maxConcurrency: q.fn.maxConcurrency, oldestWaitingSince: q.waiters[0].seq, oldestWaitMs: Number(q.waiters[0].waited()) / 1000 });
    }
    // A conversion takes a start slot: it starts a template, most of a cold start's CPU.
    for (const { key, count } of planStarts(demands, this.starting.size + this.converting.size, this.o.maxStarts, this.o.cpuSaturated?.() ?? false)) {
      const fn = this.queues.get(key)!.fn;
      for (let i = 0; i < count; i++) {
        if (this.convertFor(fn)) continue;
        if (!this.makeRoom(fn.memoryMb)) break;
        void this.coldStart(fn);
      }
    }
  }

  /** Conversions under way for the queue with this key. */
  private conversionsFor(key: string): number {
    let n = 0;
    for (const k of this.converting.values()) if (k === key) n++;
    return n;
  }

  /**
   * True when neededMb is free now. Otherwise begins evicting idle containers, least recently used first,
   * if that makes enough room (the queue is pumped again once they are gone), and returns false.
   */
  private makeRoom(neededMb: number): boolean {
    let free = this.o.memoryCapacityMb - this.reservedMb;
    if (free >= neededMb) return true;
    for (const c of this.containers.values()) if (c.state === ContainerState.REMOVING) free += c.memoryMb;
    if (free >= neededMb) return false; // enough is on its way out already
    const idle = this.all()
      .filter((c) => c.state === ContainerState.IDLE && c.inflight === 0)
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    const victims: Container[] = [];
    for (const c of idle) {
      if (free >= neededMb) break;
      victims.push(c);
      free += c.memoryMb;
    }
    if (free >= neededMb) for (const c of victims) void this.remove(c, "evicted for memory");
    return false;
  }

  private async coldStart(fn: RunnableFunction, reason = "cold start"): Promise<void> {
    const c = new Container(`${this.o.keyPrefix}-${shortId(6)}`, assignmentOf(fn), ContainerRole.EXECUTOR, fn.packages ?? EMPTY, this.o.clock.now(), this.o.onTransition);
    this.containers.set(c.id, c);
    const startup = stopwatch();
    this.starting.set(c, startup);
    c.transition(ContainerState.STARTING, reason);
    try {
      c.sandbox = await this.o.runtime.create({ ...fn.sandboxSpec, labels: { ...fn.sandboxSpec.labels, [LABELS.container]: c.id } });
      this.cpusOf.set(c, fn.sandboxSpec.cpus);
    } catch (err) {
      this.starting.delete(c);
      this.o.logger.warn({ container: c.id, function: fn.name, err: (err as Error).message }, "cold start failed");
      // The waiters this start was for fail with it, so that a function that cannot start is not retried
      // until every deadline has passed.
      const q = this.queues.get(queueKey(fn.name, fn.digest));
      for (const w of q?.waiters.splice(0, fn.maxConcurrency) ?? []) {
        clearTimeout(w.timer);
        w.reject(new StartFailedError((err as Error).message));
      }
      if (q && q.waiters.length === 0) this.queues.delete(queueKey(fn.name, fn.digest));
      await this.remove(c, "failed to start");
      return;
    }
    this.starting.delete(c);
    if (c.state !== ContainerState.STARTING) {
      // Removed while it started (the node is stopping): Docker's container was not there to remove then.
      await this.o.runtime.destroy(c.sandbox.id).catch((err: Error) => this.o.logger.error({ container: c.id, err: err.message }, "container removal failed"));
      return;
    }
    this.readyAt.set(c, ++this.readyEpoch);
    if (!this.serveQueue(c, startup)) c.transition(ContainerState.IDLE, "started");
    this.pump();
  }

  /**
   * Lends idle zygotes and stem cells to queues that the containers already starting for them do not
   * cover, as the policy chooses; a lending is a start (STARTING) of the renter's, so planStarts counts it.
   */
  private lendToQueues(): void {
    const choose = this.o.policy?.chooseLender?.bind(this.o.policy);
    if (!choose) return;
    for (const q of this.queues.values()) {
      const fn = q.fn;
      if (!fn.claim) continue;
      let coming = this.conversionsFor(queueKey(fn.name, fn.digest)) * fn.maxConcurrency;
      for (const c of this.containers.values()) if (c.state === ContainerState.STARTING && c.functionName === fn.name && c.digest === fn.digest) coming += c.maxConcurrency;
      // A container whose fork carries a rider has one slot less for the queue.
      coming -= this.ridersOf(fn);
      while (q.waiters.length > coming) {
        const deps = fn.dependencies ?? EMPTY;
        const candidates = this.all().filter(
          (c) =>
            c.state === ContainerState.IDLE &&
            c.inflight === 0 &&
            !c.retiring &&
            this.mayLend(c, fn) &&
            (c.role === ContainerRole.STEM_CELL || (c.role === ContainerRole.ZYGOTE && covers(c.packages, deps))),
        );
        if (candidates.length === 0) break; // the next queue may be covered by other zygotes
        const now = this.o.clock.now();
        const id = choose(this.history.view(fn.name, deps, fn.memoryMb), candidates.map(containerView), this.view(), now);
        const lender = id === undefined ? undefined : this.containers.get(id);
        if (!lender || !candidates.includes(lender)) break;
        // A bigger limit than the lender had must fit the node.
        if (fn.memoryMb > lender.memoryMb && this.o.memoryCapacityMb - this.reservedMb < fn.memoryMb - lender.memoryMb) break;
        const rider = this.takeRider(lender, fn);
        void this.lend(lender, fn, rider);
        coming += fn.maxConcurrency - (rider ? 1 : 0);
      }
    }
  }

  /** Tenancy: a container another tenant's code ran in goes to that tenant's functions only, unless the operator allows sharing. */
  private mayLend(c: Container, fn: RunnableFunction): boolean {
    return this.o.crossTenantSharing === true || c.tenant === "" || c.tenant === (fn.tenant ?? "");
  }

  /**
   * Hands a zygote (HELPER) or a stem cell (PREWARM) to fn: its code is copied in, its limit resized,
   * and the sidecar gives the template worker to fn. Then it serves fn's queue like a started container.
   * The fork carries the rider (the queue's first invocation, taken out of it), which is answered with
   * the fork's first result: one round trip to the sidecar fewer on a HELPER start.
   */
  private async lend(c: Container, fn: RunnableFunction, rider: Waiter | undefined, startup = stopwatch()): Promise<void> {
    const claim = fn.claim!;
    const stemCell = c.role === ContainerRole.STEM_CELL;
    const previousMb = c.memoryMb;
    c.reassign(stemCell ? ContainerRole.EXECUTOR : ContainerRole.HELPER, assignmentOf(fn), stemCell ? StartKind.PREWARM : StartKind.HELPER, this.o.clock.now());
    c.transition(ContainerState.STARTING, `${stemCell ? "claimed by" : "lent to"} ${fn.name}`);
    const sandbox = c.sandbox!;
    const timing: Record<string, number> = {};
    const lap = (name: string, since: () => bigint) => (timing[name] = Number(since()) / 1000);
    // The limit changes while the code is copied and the template takes over. The fork does not wait for
    // it (a docker update takes 10–40 ms, a HELPER start's whole budget several times over): the rider runs
    // under the zygote's limit, which keeps half again what the template holds, and the container takes
    // no other invocation until its limit is the function's.
    // The CPU limit follows the renter's workers (set with the memory, in the same docker update).
    const cpus = fn.sandboxSpec.cpus;
    const cpusChange = cpus !== undefined && cpus !== this.cpusOf.get(c);
    const resizing =
      fn.memoryMb === previousMb && !cpusChange
        ? undefined
        : (async () => {
            const t = stopwatch();
            await this.o.runtime.update(sandbox.id, fn.memoryMb, cpusChange ? cpus : undefined);
            if (cpusChange) this.cpusOf.set(c, cpus);
            lap("updateMs", t);
          })();
    resizing?.catch(() => {}); // awaited below; a rejection before then is not unhandled
    c.resizing = resizing !== undefined;
    let forkSent = false;
    let forked;
    try {
      const t = stopwatch();
      const codeDir = await this.o.runtime.inject(sandbox, stemCell ? claim.fullCodeDir : claim.codeDir);
      lap("injectMs", t);
      const f = stopwatch();
      forkSent = true;
      forked = await this.o.runtime.channel(sandbox).client.fork(
        { function: fn.name, codeDir, entry: claim.entry, env: claim.env, limits: { memoryMb: fn.memoryMb, timeoutMs: claim.timeoutMs, maxConcurrency: fn.maxConcurrency, workers: claim.workers }, firstRun: rider?.run },
        // The rider's run has the sidecar's bounds (its slot wait and its timeout), as a Run would.
        { timeoutMs: Math.max(10_000, claim.timeoutMs) + (rider ? 2 * claim.timeoutMs : 0) },
      );
      lap("forkMs", f);
    } catch (err) {
      const message = (err as Error).message;
      this.o.logger.warn({ container: c.id, function: fn.name, err: message }, "lending failed; the container is removed");
      // Only a fork refused before anything ran lets the rider try another start; otherwise it may have run.
      if (rider) this.unseat(c, rider, !forkSent || refusedBeforeRunning(err), `lending ${c.id} to ${fn.name} failed: ${message}`);
      await resizing?.catch(() => {});
      await this.remove(c, `lending to ${fn.name} failed`);
      return;
    }
    this.o.logger.debug({ container: c.id, function: fn.name, ...timing, firstRunUs: Number(forked.firstRunUs) }, "lent");
    if (c.state !== ContainerState.STARTING) {
      // removed meanwhile (the node is stopping)
      if (rider) this.unseat(c, rider, false, "the node is stopping");
      return;
    }
    this.readyAt.set(c, ++this.readyEpoch);
    if (rider) {
      this.riders.delete(c);
      this.occupy(c);
      // The rider's startup ends where its run began in the sidecar; before the lending it queued. A
      // lending that began before the rider arrived (a conversion it claimed) counts from its arrival.
      const waited = rider.waited();
      const lentUs = startup() < waited ? startup() : waited;
      const firstRunUs = forked.firstRunUs;
      const startupUs = lentUs > firstRunUs ? lentUs - firstRunUs : 0n;
      rider.resolve({ container: c, channel: this.o.runtime.channel(sandbox), startKind: c.startKind, queuedUs: waited > lentUs ? waited - lentUs : 0n, startupUs, result: forked.firstResult });
    }
    if (resizing) {
      try {
        await resizing;
      } catch (err) {
        this.o.logger.warn({ container: c.id, function: fn.name, err: (err as Error).message }, "raising the lent container's limit failed; it goes once idle");
        c.retiring = true;
        if (!rider && c.state === ContainerState.STARTING) await this.remove(c, `resizing for ${fn.name} failed`);
        return;
      } finally {
        c.resizing = false;
      }
      this.o.logger.debug({ container: c.id, function: fn.name, ...timing }, "lent container resized");
      if (isGone(c)) return; // removed meanwhile (the node is stopping)
    }
    if (!this.serveQueue(c, startup) && !rider && c.state === ContainerState.STARTING) c.transition(ContainerState.IDLE, "lent; nobody waits any more");
    this.pump();
  }

  /**
   * A rider whose lending failed: back at the head of its queue (for another start) when nothing of it
   * ran, otherwise failed (it may have run: running it twice is worse than an error).
   */
  private unseat(c: Container, rider: Waiter, requeue: boolean, why: string): void {
    this.riders.delete(c);
    if (requeue && !this.closed) this.enqueue(rider, "front");
    else rider.reject(new StartFailedError(why));
  }

  /** Turns an idle executor into a zygote in place (the policy's decision); a queue may claim it meanwhile. */
  private becomeZygote(c: Container, reason: string): Promise<void> {
    return this.convert(c, reason, undefined);
  }

  /**
   * A start for fn's queue from a zygote in the making, when there is one: a conversion under way that
   * no queue has claimed and that covers fn (it costs nothing more, and is ready before a container could
   * be created), else a new conversion of the idle executor or helper of another function that the policy
   * picks (convertForRenter) from those that cover fn. Either must be lendable to fn and leave room for its
   * limit. True when fn's queue has a conversion coming: it counts as a start until it is lent.
   */
  private convertFor(fn: RunnableFunction): boolean {
    const policy = this.o.policy;
    if (!policy?.chooseLender || !fn.claim) return false;
    const key = queueKey(fn.name, fn.digest);
    const deps = fn.dependencies ?? EMPTY;
    const free = this.o.memoryCapacityMb - this.reservedMb;
    const lendable = (c: Container) => covers(c.packages, deps) && this.mayLend(c, fn) && fn.memoryMb - c.memoryMb <= free;
    for (const [c, claimedBy] of this.converting) {
      if (claimedBy === undefined && lendable(c)) {
        this.converting.set(c, key);
        return true;
      }
    }
    if (!policy.convertForRenter) return false;
    const candidates = this.all().filter(
      (c) =>
        c.state === ContainerState.IDLE &&
        c.inflight === 0 &&
        !c.retiring &&
        c.servesFunction &&
        c.functionName !== fn.name &&
        lendable(c) &&
        !isUnshareable(this.known.get(c.functionName)?.sandboxSpec),
    );
    if (candidates.length === 0) return false;
    const id = policy.convertForRenter(this.history.view(fn.name, deps, fn.memoryMb), candidates.map(containerView), this.view(), this.o.clock.now());
    const c = id === undefined ? undefined : this.containers.get(id);
    if (!c || !candidates.includes(c)) return false;
    void this.convert(c, `converted on demand for ${fn.name}`, key);
    return true;
  }

  /**
   * Turns c into a zygote; then lends it to the queue that claimed it, if one did (its first invocation
   * rides the fork; its startup counts from the conversion's start, or its arrival if later). A zygote
   * unclaimed, or whose queue emptied meanwhile (a slot freed), or whose limit no longer fits, waits to be
   * lent like any other.
   */
  private async convert(c: Container, reason: string, claimedBy: string | undefined): Promise<void> {
    const startup = stopwatch();
    this.converting.set(c, claimedBy);
    let ready: boolean;
    let key: string | undefined;
    try {
      ready = await this.toZygote(c, reason);
    } finally {
      key = this.converting.get(c);
      this.converting.delete(c);
    }
    if (!ready) return this.pump();
    const q = key === undefined ? undefined : this.queues.get(key);
    const fits = (fn: RunnableFunction) => fn.memoryMb <= c.memoryMb || this.o.memoryCapacityMb - this.reservedMb >= fn.memoryMb - c.memoryMb;
    if (!q || q.waiters.length === 0 || !fits(q.fn) || this.closed) return this.zygoteReady(c);
    await this.lend(c, q.fn, this.takeRider(c, q.fn), startup);
  }

  /** The sidecar ends c's worker and a clean template takes over. False when c failed (and was removed) or left. */
  private async toZygote(c: Container, reason: string): Promise<boolean> {
    c.reassign(ContainerRole.ZYGOTE, NO_FUNCTION, StartKind.UNSPECIFIED, this.o.clock.now());
    c.transition(ContainerState.STARTING, reason);
    try {
      await this.o.runtime.channel(c.sandbox!).client.becomeZygote({ reason }, { timeoutMs: this.o.zygoteTimeoutMs ?? 30_000 });
    } catch (err) {
      this.o.logger.warn({ container: c.id, err: (err as Error).message }, "turning into a zygote failed; the container is removed");
      await this.remove(c, "zygote conversion failed");
      return false;
    }
    return c.state === ContainerState.STARTING;
  }

  /** A converted zygote waits to be lent: its limit shrunk, IDLE. */
  private async zygoteReady(c: Container): Promise<void> {
    await this.shrinkZygote(c);
    if (c.state !== ContainerState.STARTING) return;
    c.transition(ContainerState.IDLE, "zygote ready");
    this.pump();
  }

  /**
   * A zygote holds its sidecar and a template, not a function's working set: its limit comes down to what
   * those need (with headroom), which the node can give to others and the policy may spend on keeping it
   * longer. A failed shrink leaves the limit as it was.
   */
  private async shrinkZygote(c: Container): Promise<void> {
    const floorMb = this.o.zygoteMemoryMb ?? 0;
    if (floorMb <= 0) return;
    try {
      const stats = await this.o.runtime.channel(c.sandbox!).client.stats({}, { timeoutMs: 5_000 });
      const heldMb = Number(stats.sidecarRssBytes + stats.templateRssBytes) / (1024 * 1024);
      const limitMb = Math.max(floorMb, Math.ceil(heldMb * ZYGOTE_RSS_HEADROOM));
      if (limitMb >= c.memoryMb) return;
      await this.o.runtime.update(c.sandbox!.id, limitMb);
      this.o.logger.debug({ container: c.id, fromMb: c.memoryMb, toMb: limitMb, heldMb: Math.round(heldMb) }, "zygote limit shrunk");
      c.memoryMb = limitMb;
    } catch (err) {
      this.o.logger.warn({ container: c.id, err: (err as Error).message }, "shrinking the zygote's limit failed; it keeps its limit");
    }
  }

  /** Starts a stem cell or a zygote of a set: a container waiting for a function to be lent to. */
  private startSpare(role: ContainerRole, spec: SandboxSpec, packages: Packages, reason: string): void {
    const memoryMb = this.o.spareMemoryMb ?? 256;
    if (this.closed || this.starting.size >= this.o.maxStarts || this.o.memoryCapacityMb - this.reservedMb < memoryMb) return;
    const c = new Container(`${this.o.keyPrefix}-${shortId(6)}`, { ...NO_FUNCTION, memoryMb }, role, packages, this.o.clock.now(), this.o.onTransition);
    this.containers.set(c.id, c);
    this.starting.set(c, stopwatch());
    c.transition(ContainerState.STARTING, reason);
    void (async () => {
      try {
        c.sandbox = await this.o.runtime.create({ ...spec, memoryMb, labels: { ...spec.labels, [LABELS.container]: c.id } });
        this.cpusOf.set(c, spec.cpus);
      } catch (err) {
        this.starting.delete(c);
        this.o.logger.warn({ container: c.id, role: ContainerRole[role], err: (err as Error).message }, "spare container failed to start");
        await this.remove(c, "failed to start");
        return;
      }
      this.starting.delete(c);
      if (c.state !== ContainerState.STARTING) {
        await this.o.runtime.destroy(c.sandbox.id).catch((err: Error) => this.o.logger.error({ container: c.id, err: err.message }, "container removal failed"));
        return;
      }
      c.transition(ContainerState.IDLE, "started");
      this.pump();
    })();
  }

  private expire(key: string, waiter: Waiter, waitedMs: number): void {
    const q = this.queues.get(key);
    const i = q?.waiters.indexOf(waiter) ?? -1;
    if (!q || i < 0) return;
    q.waiters.splice(i, 1);
    if (q.waiters.length === 0) this.queues.delete(key);
    const free = this.o.memoryCapacityMb - this.reservedMb;
    waiter.reject(
      new NoCapacityError(
        `no container slot for ${waiter.fn.name} within ${waitedMs} ms (${q.waiters.length} more waiting, ${this.starting.size} containers starting on the node, ${free} MB of ${this.o.memoryCapacityMb} MB free)`,
      ),
    );
  }
}

/** A host-network or non-root container is never made a zygote: it would lend its network, or its uid. */
function isUnshareable(spec: SandboxSpec | undefined): boolean {
  return spec?.hostNetwork === true || spec?.nonRoot === true;
}
