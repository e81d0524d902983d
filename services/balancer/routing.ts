// Where an invocation goes: a pure function of the cluster view, in the order of preference of a
// sharing-aware balancer: a node with an idle executor of the function (a warm start), then the
// least-loaded node with memory for a new container, then the least-loaded node (it queues or evicts).
// (A node with a zygote covering the function ranks second once zygotes exist.)

export interface NodeLoad {
  readonly nodeId: string;
  /** Idle executors of the function being routed, minus invocations already sent their way. */
  readonly idleExecutors: number;
  readonly freeMb: number;
  readonly inflight: number;
}

export type RouteReason = "idle-executor" | "free-memory" | "least-loaded";

export interface Route {
  readonly nodeId: string;
  readonly reason: RouteReason;
}

export function chooseNode(nodes: readonly NodeLoad[], memoryMb: number): Route | undefined {
  let warm: NodeLoad | undefined;
  let roomy: NodeLoad | undefined;
  let any: NodeLoad | undefined;
  for (const n of nodes) {
    if (n.idleExecutors > 0 && (!warm || n.idleExecutors > warm.idleExecutors || (n.idleExecutors === warm.idleExecutors && n.inflight < warm.inflight))) warm = n;
    if (n.freeMb >= memoryMb && (!roomy || n.inflight < roomy.inflight || (n.inflight === roomy.inflight && n.freeMb > roomy.freeMb))) roomy = n;
    if (!any || n.inflight < any.inflight) any = n;
  }
  if (warm) return { nodeId: warm.nodeId, reason: "idle-executor" };
  if (roomy) return { nodeId: roomy.nodeId, reason: "free-memory" };
  if (any) return { nodeId: any.nodeId, reason: "least-loaded" };
  return undefined;
}
