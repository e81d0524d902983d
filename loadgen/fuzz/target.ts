// What the fuzzer knows about the gateway it fuzzes: its address and key, the functions deployed for it
// (so that valid-looking invocations really run), and the bounds it was started with.
import type { DeployFunctionRequest } from "../../gen/faas/gateway/v1/gateway_pb.js";

export interface FuzzTarget {
  /** The gateway's base URL, "http://127.0.0.1:PORT". */
  readonly url: string;
  /** The tenant's API key, sent as `authorization: Bearer <key>`; undefined when the gateway has no authentication. */
  readonly apiKey?: string;
  /** Sent on every request (after the authorization header, so they may replace it). */
  readonly headers: Readonly<Record<string, string>>;
  /** Deployed functions by the deploy request that made them; the first is the one the final check invokes. */
  readonly functions: readonly DeployFunctionRequest[];
  /** Ids of async invocations made before the run, for GetResult. */
  readonly invocationIds: readonly string[];
  /** The gateway's largest accepted request message (its readMaxBytes). */
  readonly readMaxBytes: number;
  /** The gateway's largest invocation payload (MAX_PAYLOAD_BYTES). */
  readonly maxPayloadBytes: number;
  /** Its largest code upload (MAX_CODE_BYTES), for deploy validation. */
  readonly maxCodeBytes: number;
}

/** The gateway's readMaxBytes for its limits (services/gateway/main.ts). */
export function gatewayReadMaxBytes(maxCodeBytes: number, maxPayloadBytes: number): number {
  return Math.max(maxCodeBytes, maxPayloadBytes) * 2 + 1024 * 1024;
}

export const functionNames = (t: FuzzTarget): string[] => t.functions.map((f) => f.spec?.name ?? "");
