// Fixed keep-alive, OpenWhisk's default: an executor idle for keepAliveMs is removed.
import { ContainerState } from "../container.js";
import type { NodeView, PolicyAction, StartupPolicy } from "./policy.js";

export const OPENWHISK_KEEP_ALIVE_MS = 10 * 60_000;

export function keepAlivePolicy(keepAliveMs: number = OPENWHISK_KEEP_ALIVE_MS): StartupPolicy {
  return {
    name: "keepalive",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      return view.containers
        .filter((c) => c.state === ContainerState.IDLE && c.inflight === 0 && nowMs - c.lastUsedAt >= keepAliveMs)
        .map((c) => ({ kind: "remove", containerId: c.id, reason: `idle for ${nowMs - c.lastUsedAt} ms >= keep-alive ${keepAliveMs} ms` }));
    },
  };
}
