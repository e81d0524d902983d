// The balancer's live picture of the nodes, built from NATS facts: heartbeats say a node is alive, where
// it listens and how much memory it has; container events say which containers are idle, per function.
// Events can be lost or arrive late, so a node's containers are also rebuilt from its own list now and
// then (replaceContainers). Invocations the balancer has sent but not yet seen finish are counted here
// too: heartbeats are seconds apart, routing decisions are microseconds apart. So are the zygotes and
// stem cells promised to invocations sent for a fork or a claim, until the node's events show them lent.
import type { Clock } from "../../common/clock.js";
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, type ContainerStateChanged, type NodeHeartbeat } from "../../gen/faas/events/v1/events_pb.js";
import { covers, packageSet } from "./package-sets.js";
import type { NodeLoad } from "./routing.js";

interface ContainerFact {
  readonly function: string;
  readonly role: ContainerRole;
  readonly state: ContainerState;
  readonly memoryMb: number;
  /** The "name@version" packages of its image: what it covers as a zygote. Fixed for a container's life. */
  readonly packages: ReadonlySet<string>;
  /** Unix µs of the fact, to ignore older events arriving after newer ones. */
  readonly atUs: bigint;
}

export interface NodeState {
  readonly nodeId: string;
  address: string;
  capacityMb: number;
  lastSeenMs: number;
  readonly containers: Map<string, ContainerFact>;
  /** Invocations sent to the node by this balancer and not yet answered, per function. */
  readonly sent: Map<string, number>;
  sentTotal: number;
  /**
   * Invocations sent to fork a zygote or claim a stem cell here whose lending no event has shown yet, oldest
   * first: each one makes one idle zygote or stem cell unavailable to the next routing decision.
   */
  readonly zygoteClaims: Set<symbol>;
}

export interface ContainerSnapshot {
  readonly containerId: string;
  readonly function: string;
  readonly role: ContainerRole;
  readonly state: ContainerState;
  readonly memoryMb: number;
  /** A node's list (ListContainers) carries no packages today: those learnt from events are kept. */
  readonly packages?: readonly string[];
}

/** An idle container a function can be started in without a cold start: a zygote (if it covers) or a stem cell. */
function isIdleTemplate(c: ContainerFact): boolean {
  return c.state === ContainerState.IDLE && (c.role === ContainerRole.ZYGOTE || c.role === ContainerRole.STEM_CELL);
}

/** The event of a zygote or stem cell taking up a function (node-manager: IDLE -> STARTING as HELPER or EXECUTOR). */
function isLent(e: ContainerStateChanged): boolean {
  const live = e.state !== ContainerState.REMOVING && e.state !== ContainerState.REMOVED;
  return live && (e.role === ContainerRole.HELPER || e.role === ContainerRole.EXECUTOR || e.startKind === StartKind.HELPER || e.startKind === StartKind.PREWARM);
}

/** Containers serving the function's invocations: its executors and the zygotes lent to it as helpers. */
function servesFunction(c: ContainerFact, functionName: string): boolean {
  return c.function === functionName && (c.role === ContainerRole.EXECUTOR || c.role === ContainerRole.HELPER) && (c.state === ContainerState.IDLE || c.state === ContainerState.BUSY);
}

export class ClusterView {
  readonly #nodes = new Map<string, NodeState>();
  readonly #liveWaiters = new Set<() => void>();
  readonly #onNewNode: (node: NodeState) => void;

  constructor(
    private readonly clock: Clock,
    private readonly staleMs: number,
    onNewNode: (node: NodeState) => void = () => {},
  ) {
    this.#onNewNode = onNewNode;
  }

  heartbeat(hb: NodeHeartbeat): void {
    let node = this.#nodes.get(hb.nodeId);
    const revived = !node || !this.#isLive(node);
    if (!node) {
      node = { nodeId: hb.nodeId, address: hb.address, capacityMb: 0, lastSeenMs: 0, containers: new Map(), sent: new Map(), sentTotal: 0, zygoteClaims: new Set() };
      this.#nodes.set(hb.nodeId, node);
    }
    node.address = hb.address;
    node.capacityMb = hb.memoryCapacityMb;
    node.lastSeenMs = this.clock.now();
    if (revived) {
      this.#onNewNode(node);
      for (const wake of [...this.#liveWaiters]) wake();
    }
  }

  containerChanged(e: ContainerStateChanged): void {
    const node = this.#nodes.get(e.nodeId);
    if (!node) return; // learnt with the node's first snapshot
    const known = node.containers.get(e.containerId);
    if (known && known.atUs > e.atUnixUs) return;
    // A zygote or stem cell lent to a function: the claim of the oldest invocation sent for one is now
    // visible in the containers themselves (whoever's invocation it was; the count is what matters).
    if (known && isIdleTemplate(known) && isLent(e)) {
      const oldest = node.zygoteClaims.values().next();
      if (!oldest.done) node.zygoteClaims.delete(oldest.value);
    }
    if (e.state === ContainerState.REMOVED) node.containers.delete(e.containerId);
    else {
      // An event without packages (an older publisher) leaves those known: an image's packages never change.
      const packages = e.packages.length > 0 || !known ? packageSet(e.packages) : known.packages;
      node.containers.set(e.containerId, { function: e.function, role: e.role, state: e.state, memoryMb: e.memoryMb, packages, atUs: e.atUnixUs });
    }
  }

  /** The node's own list replaces what events said; facts newer than the list are kept, and so are packages. */
  replaceContainers(nodeId: string, snapshot: readonly ContainerSnapshot[], takenAtUs: bigint): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    const before = new Map(node.containers);
    for (const [id, fact] of node.containers) if (fact.atUs < takenAtUs) node.containers.delete(id);
    for (const c of snapshot) {
      const known = node.containers.get(c.containerId);
      if (known && known.atUs >= takenAtUs) continue;
      const packages = c.packages?.length ? packageSet(c.packages) : (before.get(c.containerId)?.packages ?? packageSet([]));
      node.containers.set(c.containerId, { function: c.function, role: c.role, state: c.state, memoryMb: c.memoryMb, packages, atUs: takenAtUs });
    }
  }

  get(nodeId: string): NodeState | undefined {
    return this.#nodes.get(nodeId);
  }

  live(): NodeState[] {
    return [...this.#nodes.values()].filter((n) => this.#isLive(n));
  }

  /** The live nodes, waiting up to waitMs for a first one (a balancer that just started has heard none yet). */
  async whenLive(waitMs: number): Promise<NodeState[]> {
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      const live = this.live();
      const remaining = deadline - this.clock.now();
      if (live.length > 0 || remaining <= 0) return live;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#liveWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.#liveWaiters.add(wake);
      });
    }
  }

  /**
   * Routing inputs for one function on every live node. Its executors and helpers that are ready (IDLE, or
   * BUSY but below their concurrency) offer slots; the invocations this balancer has in flight there use
   * them. Idle zygotes holding every dependency (`dependencies`: "name@version"; undefined = unknown, which
   * no zygote covers) and idle stem cells offer a start without a cold start, less those already claimed.
   * Claims are per node, not per zygote: a claim for another function may hide a zygote this one could
   * use, which errs toward a cold start, never toward sending two invocations to one zygote.
   */
  loads(functionName: string, maxConcurrency: number, dependencies?: readonly string[]): NodeLoad[] {
    return this.live().map((n) => {
      let executors = 0;
      let templates = 0;
      let reservedMb = 0;
      for (const c of n.containers.values()) {
        reservedMb += c.memoryMb;
        if (servesFunction(c, functionName)) executors++;
        else if (isIdleTemplate(c) && (c.role === ContainerRole.STEM_CELL || covers(c.packages, dependencies))) templates++;
      }
      return {
        nodeId: n.nodeId,
        warmSlots: executors * maxConcurrency - (n.sent.get(functionName) ?? 0),
        zygotes: Math.max(0, templates - n.zygoteClaims.size),
        freeMb: n.capacityMb - reservedMb,
        inflight: n.sentTotal,
      };
    });
  }

  /**
   * Counts an invocation sent to a node until the returned function is called. `claimsZygote`: it was sent
   * there for an idle zygote or stem cell, which stays promised to it until an event shows one lent or it ends.
   */
  sent(nodeId: string, functionName: string, claimsZygote = false): () => void {
    const node = this.#nodes.get(nodeId);
    if (!node) return () => {};
    node.sent.set(functionName, (node.sent.get(functionName) ?? 0) + 1);
    node.sentTotal++;
    const claim = claimsZygote ? Symbol(functionName) : undefined;
    if (claim) node.zygoteClaims.add(claim);
    return () => {
      const left = (node.sent.get(functionName) ?? 1) - 1;
      if (left <= 0) node.sent.delete(functionName);
      else node.sent.set(functionName, left);
      node.sentTotal--;
      if (claim) node.zygoteClaims.delete(claim);
    };
  }

  #isLive(n: NodeState): boolean {
    return this.clock.now() - n.lastSeenMs <= this.staleMs;
  }
}
