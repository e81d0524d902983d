// The containers of one node: which container serves an invocation, when a new one is created, and what
// is removed. Decisions about idle containers come from a StartupPolicy; this module applies them.
// Docker is reached only through the SandboxRuntime interface.
import type { Logger } from "../../common/logger.js";
import type { Clock } from "../../common/clock.js";
import { stopwatch } from "../../common/clock.js";
import { shortId } from "../../common/ids.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { LABELS } from "./labels.js";
import { Container, ContainerState, type TransitionListener } from "./container.js";
import type { NodeView, PolicyAction } from "./policies/policy.js";
import type { Channel, Sandbox, SandboxRuntime, SandboxSpec } from "./sandbox/runtime.js";

/** What the pool needs to know to run a function. */
export interface RunnableFunction {
  readonly name: string;
  readonly digest: string;
  readonly memoryMb: number;
  readonly maxConcurrency: number;
  readonly sandboxSpec: SandboxSpec;
}

export interface Lease {
  readonly container: Container;
  readonly channel: Channel;
  readonly startKind: StartKind;
  /** Waiting for memory on this node. */
  readonly queuedUs: bigint;
  /** Creating and starting the container (COLD), 0 for WARM. */
  readonly startupUs: bigint;
}

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
}

interface Waiter {
  readonly wake: () => void;
}

export class ContainerPool {
  private readonly containers = new Map<string, Container>();
  /** Containers still starting, with the promise that settles when they are ready. */
  private readonly starting = new Map<Container, Promise<void>>();
  private readonly waiters = new Set<Waiter>();
  /** Containers with no invocation running that are not yet reported IDLE. */
  private readonly lingering = new Map<Container, NodeJS.Timeout>();
  /** Counts capacity changes, so that a change between a failed attempt and its wait is not missed. */
  private changes = 0;

  constructor(private readonly o: PoolOptions) {}

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

  all(): Container[] {
    return [...this.containers.values()];
  }

  get(id: string): Container | undefined {
    return this.containers.get(id);
  }

  view(): NodeView {
    return {
      memoryCapacityMb: this.o.memoryCapacityMb,
      containers: this.all().map((c) => ({
        id: c.id,
        functionName: c.functionName,
        state: c.state,
        inflight: c.inflight,
        memoryMb: c.memoryMb,
        lastUsedAt: c.lastUsedAt,
        createdAt: c.createdAt,
      })),
    };
  }

  /**
   * A container slot for one invocation of fn: an idle or not-full warm executor first, then a slot in a
   * container of fn that is already starting, then a new container (evicting idle containers of other
   * functions for memory), else wait for capacity until deadlineMs.
   */
  async acquire(fn: RunnableFunction, deadlineMs: number): Promise<Lease> {
    const queued = stopwatch();
    for (;;) {
      const seen = this.changes;
      const warm = this.findWarm(fn);
      if (warm) {
        this.occupy(warm);
        return { container: warm, channel: this.o.runtime.channel(warm.sandbox!), startKind: StartKind.WARM, queuedUs: queued(), startupUs: 0n };
      }
      const joinable = this.findStarting(fn);
      if (joinable) {
        const queuedUs = queued();
        const startup = stopwatch();
        joinable.inflight++;
        await this.starting.get(joinable)!.catch((err) => {
          throw new StartFailedError((err as Error).message);
        });
        return { container: joinable, channel: this.o.runtime.channel(joinable.sandbox!), startKind: StartKind.COLD, queuedUs, startupUs: startup() };
      }
      if (this.o.memoryCapacityMb - this.reservedMb >= fn.memoryMb || (await this.evictFor(fn.memoryMb))) {
        const queuedUs = queued();
        const startup = stopwatch();
        const container = await this.coldStart(fn);
        return { container, channel: this.o.runtime.channel(container.sandbox!), startKind: StartKind.COLD, queuedUs, startupUs: startup() };
      }
      if (fn.memoryMb > this.o.memoryCapacityMb) {
        throw new NoCapacityError(`function needs ${fn.memoryMb} MB but the node has ${this.o.memoryCapacityMb} MB in all`);
      }
      await this.waitForChange(deadlineMs, seen);
    }
  }

  /** Gives an invocation's slot back. A broken container (its sidecar failed) is removed. */
  release(container: Container, broken = false): void {
    container.inflight--;
    container.invocations++;
    container.lastUsedAt = this.o.clock.now();
    if (broken || (container.retiring && container.inflight === 0)) {
      void this.remove(container, broken ? "sidecar failed" : "retired");
    } else if (container.inflight === 0 && container.state === ContainerState.BUSY) {
      this.becomeIdle(container);
    }
    this.wakeWaiters();
  }

  private becomeIdle(c: Container): void {
    const afterMs = this.o.idleAfterMs ?? 0;
    if (afterMs === 0) return c.transition(ContainerState.IDLE, "invocation done");
    if (this.lingering.has(c)) return;
    const timer = setTimeout(() => {
      this.lingering.delete(c);
      if (c.inflight === 0 && c.state === ContainerState.BUSY) {
        c.transition(ContainerState.IDLE, `no invocation for ${afterMs} ms`);
        this.wakeWaiters();
      }
    }, afterMs);
    timer.unref();
    this.lingering.set(c, timer);
  }

  /** Applies a policy's decisions; actions on containers that changed since are skipped. */
  apply(actions: readonly PolicyAction[]): void {
    for (const a of actions) {
      const c = this.containers.get(a.containerId);
      if (a.kind === "remove" && c && c.state === ContainerState.IDLE && c.inflight === 0) void this.remove(c, a.reason);
    }
  }

  /** Retires every container of fn that does not run the given digest (all of them when digest is undefined). */
  retire(functionName: string, keepDigest: string | undefined, reason: string): number {
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
    const c = new Container(key, fn.name, fn.digest, fn.memoryMb, fn.maxConcurrency, createdAt, this.o.onTransition);
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
    c.transition(ContainerState.REMOVED, reason);
    this.wakeWaiters();
  }

  async removeAll(reason: string): Promise<void> {
    await Promise.all(this.all().map((c) => this.remove(c, reason)));
  }

  private findWarm(fn: RunnableFunction): Container | undefined {
    let best: Container | undefined;
    for (const c of this.containers.values()) {
      if (c.functionName !== fn.name || c.digest !== fn.digest || !c.hasCapacity) continue;
      if (c.state !== ContainerState.IDLE && c.state !== ContainerState.BUSY) continue;
      // Fill the busiest container first, then the most recently used, so that the others can expire.
      if (!best || c.inflight > best.inflight || (c.inflight === best.inflight && c.lastUsedAt > best.lastUsedAt)) best = c;
    }
    return best;
  }

  private findStarting(fn: RunnableFunction): Container | undefined {
    for (const c of this.starting.keys()) {
      if (c.functionName === fn.name && c.digest === fn.digest && c.hasCapacity) return c;
    }
    return undefined;
  }

  private occupy(c: Container): void {
    const timer = this.lingering.get(c);
    if (timer) {
      clearTimeout(timer);
      this.lingering.delete(c);
    }
    c.inflight++;
    if (c.state === ContainerState.IDLE) c.transition(ContainerState.BUSY, "invocation");
  }

  private async coldStart(fn: RunnableFunction): Promise<Container> {
    const c = new Container(`${this.o.keyPrefix}-${shortId(6)}`, fn.name, fn.digest, fn.memoryMb, fn.maxConcurrency, this.o.clock.now(), this.o.onTransition);
    c.inflight = 1;
    this.containers.set(c.id, c);
    c.transition(ContainerState.STARTING, "cold start");
    const ready = this.o.runtime
      .create({ ...fn.sandboxSpec, labels: { ...fn.sandboxSpec.labels, [LABELS.container]: c.id } })
      .then((sandbox) => {
        c.sandbox = sandbox;
      });
    this.starting.set(c, ready);
    try {
      await ready;
    } catch (err) {
      this.starting.delete(c);
      c.inflight = 0;
      this.o.logger.warn({ container: c.id, function: fn.name, err: (err as Error).message }, "cold start failed");
      await this.remove(c, "failed to start");
      throw new StartFailedError((err as Error).message);
    }
    this.starting.delete(c);
    c.transition(ContainerState.BUSY, "cold start");
    return c;
  }

  /** Removes idle containers, least recently used first, until neededMb fits. */
  private async evictFor(neededMb: number): Promise<boolean> {
    const idle = this.all()
      .filter((c) => c.state === ContainerState.IDLE && c.inflight === 0)
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    let free = this.o.memoryCapacityMb - this.reservedMb;
    const victims: Container[] = [];
    for (const c of idle) {
      if (free >= neededMb) break;
      victims.push(c);
      free += c.memoryMb;
    }
    if (free < neededMb) return false;
    await Promise.all(victims.map((c) => this.remove(c, "evicted for memory")));
    return this.o.memoryCapacityMb - this.reservedMb >= neededMb;
  }

  private waitForChange(deadlineMs: number, seen: number): Promise<void> {
    if (this.changes !== seen) return Promise.resolve();
    const remaining = deadlineMs - this.o.clock.now();
    if (remaining <= 0) return Promise.reject(new NoCapacityError("no memory on this node for a new container"));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new NoCapacityError(`no memory on this node for a new container within ${remaining} ms`));
      }, remaining);
      this.waiters.add(waiter);
    });
  }

  private wakeWaiters(): void {
    this.changes++;
    for (const w of [...this.waiters]) w.wake();
  }
}
