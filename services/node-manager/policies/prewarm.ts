// OpenWhisk's pre-warmed stem cells: the node keeps `stemCells` generic runtime containers (role STEM_CELL,
// an empty template, no function code) ready; an invocation without a warm executor claims one and gets its
// code (with its node_modules) injected, so it skips container creation but still loads its code.
//
// decide():
//   - stem cells alive or starting (STARTING, IDLE, BUSY) are counted, STARTING ones too so a slow start
//     does not make every tick start one more; one `start-stem-cell` per missing one;
//   - stem cells are never removed for idleness (they are the pool this policy pays memory for);
//   - every other container (executors; helpers or zygotes if any were adopted) goes after keepAliveMs idle,
//     exactly as the keepalive policy.
// chooseLender(): the oldest idle stem cell (createdAt, then id); never a zygote (this policy has none).
import { ContainerRole, ContainerState } from "../container.js";
import { byId, checkInt, isLive, keepAliveRemovals } from "./common.js";
import { OPENWHISK_KEEP_ALIVE_MS } from "./keepalive.js";
import type { ContainerView, FunctionView, NodeView, PolicyAction, StartupPolicy } from "./policy.js";

export const DEFAULT_STEM_CELLS = 2;

export interface PrewarmOptions {
  /** Stem cells to keep ready. Default 2 (OpenWhisk's default prewarm count per runtime kind). */
  readonly stemCells?: number;
  /** Idle time after which an executor is removed (ms). Default 10 min. */
  readonly keepAliveMs?: number;
}

export function prewarmPolicy(options: PrewarmOptions = {}): StartupPolicy {
  const stemCells = checkInt("stemCells", options.stemCells ?? DEFAULT_STEM_CELLS, 0);
  const keepAliveMs = checkInt("keepAliveMs", options.keepAliveMs ?? OPENWHISK_KEEP_ALIVE_MS, 0);
  return {
    name: "prewarm",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      const actions = keepAliveRemovals(view.containers, nowMs, keepAliveMs, (c) => c.role !== ContainerRole.STEM_CELL);
      const have = view.containers.filter((c) => c.role === ContainerRole.STEM_CELL && isLive(c)).length;
      for (let i = have; i < stemCells; i++) {
        actions.push({ kind: "start-stem-cell", reason: `${have} of ${stemCells} stem cells` });
      }
      return actions;
    },
    chooseLender(_renter: FunctionView, candidates: readonly ContainerView[]): string | undefined {
      const cells = candidates
        .filter((c) => c.role === ContainerRole.STEM_CELL && c.state === ContainerState.IDLE && c.inflight === 0)
        .sort((a, b) => a.createdAt - b.createdAt || byId(a, b));
      return cells[0]?.id;
    },
  };
}
