// Where an invocation goes: a pure function of the cluster view, in the order of preference of a
// sharing-aware balancer: a node with a free slot in an executor of the function (a warm start), then
// the least-loaded node with memory for a new container, then the least-loaded node (it queues or evicts).
// (A node with a zygote covering the function ranks second once zygotes exist.)

export interface NodeLoad {
  readonly nodeId: string;
  /** Invocation slots of the function's running executors (count x max concurrency), minus those in use. */
  readonly warmSlots: number;
  readonly freeMb: number;
  readonly inflight: number;
}

export type RouteReason = "warm-executor" | "free-memory" | "least-loaded";

export interface Route {
  readonly nodeId: string;
  readonly reason: RouteReason;
}

export function chooseNode(nodes: readonly NodeLoad[], memoryMb: number): Route | undefined {
  let warm: NodeLoad | undefined;
  let roomy: NodeLoad | undefined;
  let any: NodeLoad | undefined;
  for (const n of nodes) {
    if (n.warmSlots > 0 && (!warm || n.warmSlots > warm.warmSlots || (n.warmSlots === warm.warmSlots && n.inflight < warm.inflight))) warm = n;
    if (n.freeMb >= memoryMb && (!roomy || n.inflight < roomy.inflight || (n.inflight === roomy.inflight && n.freeMb > roomy.freeMb))) roomy = n;
    if (!any || n.inflight < any.inflight) any = n;
  }
  if (warm) return { nodeId: warm.nodeId, reason: "warm-executor" };
  if (roomy) return { nodeId: roomy.nodeId, reason: "free-memory" };
  if (any) return { nodeId: any.nodeId, reason: "least-loaded" };
  return undefined;
}
