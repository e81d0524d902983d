// The ctx argument of main(params, ctx): who is running, until when, and the per-function cache.
import { format } from "node:util";
import type { RunMessage } from "../ipc-messages.js";
import type { FunctionCache } from "./function-cache.js";

export interface FunctionIdentity {
  readonly functionName: string;
  readonly memoryMb: number;
}

export interface InvocationContext {
  readonly invocationId: string;
  readonly functionName: string;
  /** Unix milliseconds after which the invocation is killed. */
  readonly deadline: number;
  remainingMs(): number;
  readonly memoryMb: number;
  /** W3C trace context of the invocation, "" when the caller sent none. */
  readonly traceparent: string;
  /** Writes one JSON line to stderr, tagged with the invocation. */
  log(...args: unknown[]): void;
  readonly cache: FunctionCache;
}

export function createContext(run: RunMessage, identity: FunctionIdentity, cache: FunctionCache): InvocationContext {
  const { invocationId, deadlineMs: deadline, traceparent } = run;
  // Arrow functions, not methods: functions destructure ctx ({ log } = ctx) and must still work.
  return {
    invocationId,
    functionName: identity.functionName,
    deadline,
    remainingMs: () => Math.max(0, deadline - Date.now()),
    memoryMb: identity.memoryMb,
    traceparent,
    log: (...args: unknown[]) => {
      const line = { time: new Date().toISOString(), function: identity.functionName, invocationId, msg: format(...args) };
      process.stderr.write(JSON.stringify(line) + "\n");
    },
    cache,
  };
}
