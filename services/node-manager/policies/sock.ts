// SOCK's zygotes: the node keeps `zygotes` containers of the popular-package set (zygote-builder's
// `popularSet`, the packages most deployed functions import) with a template worker that has them imported;
// an invocation of a function the set covers is forked from one instead of starting a container.
//
// decide():
//   - while popularSet is undefined (not built yet) no zygote is started;
//   - zygotes holding exactly the popular set's packages are counted whether STARTING, IDLE or BUSY, and one
//     `start-zygote` (with the set's id) is emitted per missing one; they are never removed for idleness;
//   - a zygote holding any other package set is stale (the popular set changed) and is removed as soon as it
//     is idle; while popularSet is undefined there is nothing to compare with, so zygotes then fall under
//     plain keep-alive instead (nothing stays forever on a node whose builder is down);
//   - executors, helpers (and stem cells, if adopted) go after keepAliveMs idle, as the keepalive policy.
// chooseLender(): among idle zygote candidates (all cover the renter), the one with the fewest packages the
// renter does not need (least memory and import time wasted), then the oldest (createdAt), then id.
import { ContainerRole, ContainerState } from "../container.js";
import { byId, checkInt, extraPackages, isIdle, isLive, keepAliveRemovals, samePackages } from "./common.js";
import { OPENWHISK_KEEP_ALIVE_MS } from "./keepalive.js";
import type { ContainerView, FunctionView, NodeView, PolicyAction, StartupPolicy } from "./policy.js";

export const DEFAULT_SOCK_ZYGOTES = 2;

export interface SockOptions {
  /** Zygotes of the popular set to keep. Default 2. */
  readonly zygotes?: number;
  /** Idle time after which an executor or helper is removed (ms). Default 10 min. */
  readonly keepAliveMs?: number;
}

export function sockPolicy(options: SockOptions = {}): StartupPolicy {
  const zygotes = checkInt("zygotes", options.zygotes ?? DEFAULT_SOCK_ZYGOTES, 0);
  const keepAliveMs = checkInt("keepAliveMs", options.keepAliveMs ?? OPENWHISK_KEEP_ALIVE_MS, 0);
  return {
    name: "sock",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      const set = view.popularSet;
      const isZygote = (c: ContainerView) => c.role === ContainerRole.ZYGOTE;
      // Without a popular set, zygotes are kept alive like anything else.
      const actions = keepAliveRemovals(view.containers, nowMs, keepAliveMs, (c) => !isZygote(c) || set === undefined);
      if (set === undefined) return actions;
      let have = 0;
      for (const c of view.containers) {
        if (!isZygote(c)) continue;
        if (samePackages(c.packages, set.packages)) {
          if (isLive(c)) have++;
        } else if (isIdle(c)) {
          actions.push({ kind: "remove", containerId: c.id, reason: `zygote of a stale package set (popular set is now ${set.id})` });
        }
      }
      for (let i = have; i < zygotes; i++) {
        actions.push({ kind: "start-zygote", setId: set.id, reason: `${have} of ${zygotes} zygotes of popular set ${set.id}` });
      }
      return actions;
    },
    chooseLender(renter: FunctionView, candidates: readonly ContainerView[]): string | undefined {
      const zs = candidates
        .filter((c) => c.role === ContainerRole.ZYGOTE && c.state === ContainerState.IDLE && c.inflight === 0)
        .map((c) => ({ c, waste: extraPackages(c.packages, renter.dependencies) }))
        .sort((a, b) => a.waste - b.waste || a.c.createdAt - b.c.createdAt || byId(a.c, b.c));
      return zs[0]?.c.id;
    },
  };
}
