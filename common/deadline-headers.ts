// Deadlines longer than a Node timer can hold. gRPC allows grpc-timeout up to 99999999H and Connect
// connect-timeout-ms up to 10 digits; setTimeout holds at most 2^31-1 ms (24.8 days) and fires after
// 1 ms for anything longer, so such a call ended at once with DEADLINE_EXCEEDED (found by the gateway
// fuzzer, loadgen/fuzz/). Longer deadlines are cut to the longest a timer holds: the same in practice.
import type { IncomingHttpHeaders } from "node:http";

export const MAX_TIMER_MS = 2 ** 31 - 1;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** The longest grpc-timeout under MAX_TIMER_MS in whole hours (596 h = 2,145,600,000 ms). */
const MAX_GRPC_TIMEOUT = `${Math.floor(MAX_TIMER_MS / UNIT_MS.H)}H`;

/** Rewrites (in place) a grpc-timeout or connect-timeout-ms longer than a timer holds; leaves malformed ones for the protocol to refuse. */
export function clampDeadlineHeaders(headers: IncomingHttpHeaders): void {
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    if (m && Number(m[1]) * UNIT_MS[m[2]] > MAX_TIMER_MS) headers["grpc-timeout"] = MAX_GRPC_TIMEOUT;
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMER_MS) headers["connect-timeout-ms"] = String(MAX_TIMER_MS);
}
