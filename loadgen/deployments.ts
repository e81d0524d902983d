// Which functions a replay deploys, and where each trace function's arrivals go.
import { createHash } from "node:crypto";
import type { Assignment } from "./replay/replayer.js";
import type { DeployMode } from "./scenario.js";
import type { BenchFunction } from "./suite/index.js";

/** A deployed function: its name on the platform and the benchmark function whose code it runs. */
export interface Deployment {
  readonly name: string;
  readonly fn: BenchFunction;
}

/** A trace function's name on the platform: its benchmark's name and a short hash of its trace id. */
export function traceFunctionName(benchName: string, traceId: string): string {
  return `${benchName}-${createHash("sha256").update(traceId).digest("hex").slice(0, 8)}`;
}

/**
 * What to deploy for a replay and where each trace function's arrivals go. Per trace function, each gets its
 * own name (and so its own containers); per benchmark, trace functions share their benchmark's.
 */
export function planDeployments(assignments: ReadonlyMap<string, Assignment>, suite: readonly BenchFunction[], mode: DeployMode): { deployments: Deployment[]; assignments: Map<string, Assignment> } {
  const byName = new Map(suite.map((fn) => [fn.name, fn]));
  const deployments = new Map<string, Deployment>();
  const routed = new Map<string, Assignment>();
  for (const [traceId, a] of assignments) {
    const fn = byName.get(a.fn);
    if (!fn) throw new Error(`trace function ${traceId} is assigned to ${a.fn}, which is not in the suite`);
    const name = mode === "per-trace-function" ? traceFunctionName(fn.name, traceId) : fn.name;
    deployments.set(name, { name, fn });
    routed.set(traceId, { ...a, fn: name });
  }
  return { deployments: [...deployments.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), assignments: routed };
}
