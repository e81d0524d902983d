// Where one call for a function goes, a single invocation or a batch piece alike: the routing
// preference over the live view, the node marked as holding the call until it ends, and the node's
// errors as the balancer answers them.
import { Code, ConnectError } from "@connectrpc/connect";
import type { FunctionRef } from "../../gen/faas/common/v1/common_pb.js";
import type { ClusterView, NodeState } from "./cluster-view.js";
import type { FunctionCatalog } from "./function-catalog.js";
import { chooseNode } from "./routing.js";

export interface Placement {
  readonly node: NodeState;
  /** The call has ended: the node no longer counts it (nor the zygote it may have claimed). */
  readonly done: () => void;
}

/** The node for a call of fn whose containers run maxConcurrency at once; UNAVAILABLE when none is live. */
export function place(view: ClusterView, functions: FunctionCatalog, fn: FunctionRef, maxConcurrency: number): Placement {
  const dependencies = functions.dependencies(fn.name, fn.digest);
  const route = chooseNode(view.loads(fn.name, maxConcurrency, dependencies), fn.limits?.memoryMb || 256);
  const node = route && view.get(route.nodeId);
  if (!node) throw new ConnectError("no live node", Code.Unavailable);
  return { node, done: view.sent(node.nodeId, fn.name, route.reason === "zygote") };
}

/** A node's error as the balancer's: a node without the function or its version is FAILED_PRECONDITION, which makes the gateway re-prepare it and retry. */
export function fromNode(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  return e.code === Code.NotFound || e.code === Code.FailedPrecondition ? new ConnectError(e.rawMessage, Code.FailedPrecondition) : e;
}
