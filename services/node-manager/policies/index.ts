// Picks a start-up policy by name (NODE_POLICY) with its options. Every option is optional; each policy
// reads only its own (keepAliveMs is shared by keepalive, prewarm, sock and pagurus; histogram's fallback
// keep-alive defaults to keepAliveMs when only that one is given).
import { histogramPolicy, type HistogramOptions } from "./histogram.js";
import { keepAlivePolicy, type KeepAliveOptions } from "./keepalive.js";
import { pagurusPolicy, type PagurusOptions } from "./pagurus.js";
import type { StartupPolicy } from "./policy.js";
import { prewarmPolicy, type PrewarmOptions } from "./prewarm.js";
import { sockPolicy, type SockOptions } from "./sock.js";

export const POLICY_NAMES = ["keepalive", "prewarm", "sock", "pagurus", "histogram"] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export type PolicyOptions = KeepAliveOptions & PrewarmOptions & SockOptions & PagurusOptions & HistogramOptions;

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

export function createPolicy(name: PolicyName, options: PolicyOptions = {}): StartupPolicy {
  switch (name) {
    case "keepalive":
      return keepAlivePolicy({ keepAliveMs: options.keepAliveMs });
    case "prewarm":
      return prewarmPolicy({ stemCells: options.stemCells, keepAliveMs: options.keepAliveMs });
    case "sock":
      return sockPolicy({ zygotes: options.zygotes, keepAliveMs: options.keepAliveMs });
    case "pagurus":
      return pagurusPolicy({
        keepAliveMs: options.keepAliveMs,
        defaultZygoteTimeMs: options.defaultZygoteTimeMs,
        minArrivals: options.minArrivals,
        minZygoteTimeMs: options.minZygoteTimeMs,
        maxLendersPerFunction: options.maxLendersPerFunction,
        zygotesFromHelpers: options.zygotesFromHelpers,
        convertOnDemand: options.convertOnDemand,
        reserveZygotes: options.reserveZygotes,
      });
    case "histogram":
      return histogramPolicy({
        fallbackKeepAliveMs: options.fallbackKeepAliveMs ?? options.keepAliveMs,
        binMs: options.binMs,
        rangeMs: options.rangeMs,
        minSamples: options.minSamples,
        minBinCv: options.minBinCv,
        maxOutOfRangeShare: options.maxOutOfRangeShare,
      });
    default: {
      const never: never = name;
      throw new RangeError(`unknown start-up policy ${String(never)}; one of ${POLICY_NAMES.join(", ")}`);
    }
  }
}

export { histogramPolicy, histogramWindows } from "./histogram.js";
export { keepAlivePolicy, OPENWHISK_KEEP_ALIVE_MS } from "./keepalive.js";
export { pagurusPolicy, zygoteTimeMs } from "./pagurus.js";
export { prewarmPolicy } from "./prewarm.js";
export { sockPolicy } from "./sock.js";
export type { HistogramOptions, KeepAliveOptions, PagurusOptions, PrewarmOptions, SockOptions };
