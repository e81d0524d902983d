// Where an invocation goes: a pure function of the cluster view, in the order of preference of a
// sharing-aware balancer:
//   1. a node with a free slot in an executor (or helper) of the function: a warm start;
//   2. a node with an idle zygote whose packages cover the function, or an idle stem cell: the node forks
//      or claims it (HELPER / PREWARM start), far cheaper than a cold start;
//   3. the least-loaded node with memory for a new container: a cold start;
//   4. the least-loaded node (it queues or evicts).

export interface NodeLoad {
  readonly nodeId: string;
  /** Invocation slots of the function's running executors and helpers (count x max concurrency), minus those in use. */
  readonly warmSlots: number;
  /** Idle zygotes covering the function plus idle stem cells, minus those already promised to invocations sent there. */
  readonly zygotes: number;
  readonly freeMb: number;
  readonly inflight: number;
}

export type RouteReason = "warm-executor" | "zygote" | "free-memory" | "least-loaded";

export interface Route {
  readonly nodeId: string;
  readonly reason: RouteReason;
}

export function chooseNode(nodes: readonly NodeLoad[], memoryMb: number): Route | undefined {
  let warm: NodeLoad | undefined;
  let zygote: NodeLoad | undefined;
  let roomy: NodeLoad | undefined;
  let any: NodeLoad | undefined;
  for (const n of nodes) {
    if (n.warmSlots > 0 && (!warm || n.warmSlots > warm.warmSlots || (n.warmSlots === warm.warmSlots && n.inflight < warm.inflight))) warm = n;
    // Among zygote holders load decides first: any one zygote saves the cold start, a busy node delays it.
    if (n.zygotes > 0 && (!zygote || n.inflight < zygote.inflight || (n.inflight === zygote.inflight && n.zygotes > zygote.zygotes))) zygote = n;
    if (n.freeMb >= memoryMb && (!roomy || n.inflight < roomy.inflight || (n.inflight === roomy.inflight && n.freeMb > roomy.freeMb))) roomy = n;
    if (!any || n.inflight < any.inflight) any = n;
  }
  if (warm) return { nodeId: warm.nodeId, reason: "warm-executor" };
  if (zygote) return { nodeId: zygote.nodeId, reason: "zygote" };
  if (roomy) return { nodeId: roomy.nodeId, reason: "free-memory" };
  if (any) return { nodeId: any.nodeId, reason: "least-loaded" };
  return undefined;
}
