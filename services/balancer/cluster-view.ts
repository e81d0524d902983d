// The balancer's live picture of the nodes, built from NATS facts: heartbeats say a node is alive, where
// it listens and how much memory it has; container events say which containers are idle, per function.
// Events can be lost or arrive late, so a node's containers are also rebuilt from its own list now and
// then (replaceContainers). Invocations the balancer has sent but not yet seen finish are counted here
// too: heartbeats are seconds apart, routing decisions are microseconds apart.
import type { Clock } from "../../common/clock.js";
import { ContainerRole, ContainerState, type ContainerStateChanged, type NodeHeartbeat } from "../../gen/faas/events/v1/events_pb.js";
import type { NodeLoad } from "./routing.js";

interface ContainerFact {
  readonly function: string;
  readonly role: ContainerRole;
  readonly state: ContainerState;
  readonly memoryMb: number;
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
}

export interface ContainerSnapshot {
  readonly containerId: string;
  readonly function: string;
  readonly role: ContainerRole;
  readonly state: ContainerState;
  readonly memoryMb: number;
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
      node = { nodeId: hb.nodeId, address: hb.address, capacityMb: 0, lastSeenMs: 0, containers: new Map(), sent: new Map(), sentTotal: 0 };
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
    if (e.state === ContainerState.REMOVED) node.containers.delete(e.containerId);
    else node.containers.set(e.containerId, { function: e.function, role: e.role, state: e.state, memoryMb: e.memoryMb, atUs: e.atUnixUs });
  }

  /** The node's own list replaces what events said; facts newer than the list are kept. */
  replaceContainers(nodeId: string, snapshot: readonly ContainerSnapshot[], takenAtUs: bigint): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    for (const [id, fact] of node.containers) if (fact.atUs < takenAtUs) node.containers.delete(id);
    for (const c of snapshot) {
      const known = node.containers.get(c.containerId);
      if (known && known.atUs >= takenAtUs) continue;
      node.containers.set(c.containerId, { function: c.function, role: c.role, state: c.state, memoryMb: c.memoryMb, atUs: takenAtUs });
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
   * Routing inputs for one function on every live node. Its executors that are ready (IDLE, or BUSY but
   * below their concurrency) offer slots; the invocations this balancer has in flight there use them.
   */
  loads(functionName: string, maxConcurrency: number): NodeLoad[] {
    return this.live().map((n) => {
      let executors = 0;
      let reservedMb = 0;
      for (const c of n.containers.values()) {
        reservedMb += c.memoryMb;
        if (c.function === functionName && c.role === ContainerRole.EXECUTOR && (c.state === ContainerState.IDLE || c.state === ContainerState.BUSY)) executors++;
      }
      return { nodeId: n.nodeId, warmSlots: executors * maxConcurrency - (n.sent.get(functionName) ?? 0), freeMb: n.capacityMb - reservedMb, inflight: n.sentTotal };
    });
  }

  /** Counts an invocation sent to a node until the returned function is called. */
  sent(nodeId: string, functionName: string): () => void {
    const node = this.#nodes.get(nodeId);
    if (!node) return () => {};
    node.sent.set(functionName, (node.sent.get(functionName) ?? 0) + 1);
    node.sentTotal++;
    return () => {
      const left = (node.sent.get(functionName) ?? 1) - 1;
      if (left <= 0) node.sent.delete(functionName);
      else node.sent.set(functionName, left);
      node.sentTotal--;
    };
  }

  #isLive(n: NodeState): boolean {
    return this.clock.now() - n.lastSeenMs <= this.staleMs;
  }
}
