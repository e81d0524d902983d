// Fixed keep-alive, OpenWhisk's default: any container idle for keepAliveMs is removed, whatever its role
// (executor, helper, zygote, stem cell): this policy creates no zygotes or stem cells itself, but containers
// adopted after a restart or left by another policy must not stay forever.
import { checkInt, keepAliveRemovals } from "./common.js";
import type { NodeView, PolicyAction, StartupPolicy } from "./policy.js";

export const OPENWHISK_KEEP_ALIVE_MS = 10 * 60_000;

export interface KeepAliveOptions {
  /** Idle time after which a container is removed (ms). Default 10 min (OpenWhisk). */
  readonly keepAliveMs?: number;
}

export function keepAlivePolicy(options: number | KeepAliveOptions = {}): StartupPolicy {
  const keepAliveMs = checkInt("keepAliveMs", (typeof options === "number" ? options : options.keepAliveMs) ?? OPENWHISK_KEEP_ALIVE_MS, 0);
  return {
    name: "keepalive",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      return keepAliveRemovals(view.containers, nowMs, keepAliveMs);
    },
  };
}
