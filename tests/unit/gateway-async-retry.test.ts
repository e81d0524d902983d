// Durable async invocations, the pure parts: the back-off schedule, which outcomes are retried (through
// the real invoker, from the balancer's error codes), and what a worker does with a delivered message.
import test from "ava";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { ConfigError } from "../../common/config.js";
import { createLogger } from "../../common/logger.js";
import { ROOT_CONTEXT, startSpan } from "../../common/trace-context.js";
import type { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import { FunctionErrorSchema, FunctionSpecSchema, InvocationOutcomeSchema, InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { AsyncEntrySchema, AsyncEntryState, AsyncInvocationSchema } from "../../gen/faas/gateway/v1/async_pb.js";
import type { InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { attemptVerdict, backoffDelayMs, backoffSchedule, claimDecision, isRetryable } from "../../services/gateway/async/retry-policy.js";
import { loadGatewayConfig } from "../../services/gateway/config.js";
import type { InvocationRecorder } from "../../services/gateway/invocation-recorder.js";
import { Invoker } from "../../services/gateway/invoker.js";

const policy = { maxAttempts: 5, backoffBaseMs: 1000, backoffMaxMs: 10_000 };
const failed = (status: InvocationStatus, type = "", message = "x") => ({ status, error: create(FunctionErrorSchema, { type, message }) });

test("the back-off doubles from the base and stops at the maximum", (t) => {
  t.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  t.is(backoffDelayMs(0, policy), 0);
  t.is(backoffDelayMs(10_000, policy), 10_000, "no overflow for absurd attempt counts");
  t.deepEqual(backoffSchedule(policy), [1000, 2000, 4000, 8000], "a delay between each two of the five attempts");
  t.deepEqual(backoffSchedule({ ...policy, maxAttempts: 1 }), []);
  t.deepEqual(backoffSchedule({ maxAttempts: 4, backoffBaseMs: 200, backoffMaxMs: 200 }), [200, 200, 200]);
});

test("only platform failures that never reached the function are retried", (t) => {
  for (const type of ["Unavailable", "NoCapacity", "ResourceExhausted"]) t.true(isRetryable(failed(InvocationStatus.PLATFORM_ERROR, type)), type);
  // It may have run: running it again could run it twice.
  for (const type of ["PlatformTimeout", "StartFailed", "ContainerFailed", "Internal", "FunctionNotFound", ""]) t.false(isRetryable(failed(InvocationStatus.PLATFORM_ERROR, type)), type);
  // The function's own outcome is final.
  for (const status of [InvocationStatus.OK, InvocationStatus.FUNCTION_ERROR, InvocationStatus.TIMEOUT, InvocationStatus.EXITED, InvocationStatus.OUT_OF_MEMORY]) {
    t.false(isRetryable(failed(status, "Unavailable")), InvocationStatus[status]);
  }
});

test("an attempt's verdict: retry with the schedule's delay, dead-letter after the last attempt, final otherwise", (t) => {
  const down = failed(InvocationStatus.PLATFORM_ERROR, "Unavailable", "balancer unreachable");
  t.deepEqual(attemptVerdict(down, 1, policy), { kind: "retry", delayMs: 1000 });
  t.deepEqual(attemptVerdict(down, 4, policy), { kind: "retry", delayMs: 8000 });
  const dead = attemptVerdict(down, 5, policy);
  t.is(dead.kind, "dead");
  t.regex((dead as { reason: string }).reason, /Unavailable: balancer unreachable \(after 5 attempts\)/);
  t.deepEqual(attemptVerdict(failed(InvocationStatus.FUNCTION_ERROR, "TypeError"), 1, policy), { kind: "final" });
  t.deepEqual(attemptVerdict(failed(InvocationStatus.TIMEOUT, "Timeout"), 1, policy), { kind: "final" });
  t.deepEqual(attemptVerdict({ status: InvocationStatus.OK, error: undefined }, 3, policy), { kind: "final" });
  t.deepEqual(attemptVerdict(down, 1, { ...policy, maxAttempts: 1 }).kind, "dead");
});

test("a delivered message runs, is skipped as done or busy, is dropped when withdrawn, or is given up", (t) => {
  const now = 1_000_000;
  const inv = create(AsyncInvocationSchema, { invocationId: "a".repeat(32), tenant: "t", generation: 0 });
  const entry = (init: Parameters<typeof create<typeof AsyncEntrySchema>>[1]) => create(AsyncEntrySchema, { tenant: "t", ...init });
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.PENDING }), inv, now, false, policy), { kind: "run", attempt: 1 });
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.PENDING, attempts: 2 }), inv, now, false, policy), { kind: "run", attempt: 3 });
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.DONE }), inv, now, false, policy), { kind: "done" }, "a redelivery of a finished invocation");
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.RUNNING, attempts: 1, leaseUntilUnixMs: BigInt(now + 5000) }), inv, now, false, policy), { kind: "busy", retryInMs: 5100 });
  t.deepEqual(
    claimDecision(entry({ state: AsyncEntryState.RUNNING, attempts: 1, leaseUntilUnixMs: BigInt(now - 1) }), inv, now, false, policy),
    { kind: "run", attempt: 2 },
    "a dead gateway's lapsed claim is taken over",
  );
  t.is(claimDecision(entry({ state: AsyncEntryState.RUNNING, attempts: 1, leaseUntilUnixMs: BigInt(now - 1) }), inv, now, true, policy).kind, "busy", "never twice in one gateway");
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.RUNNING, attempts: 5, leaseUntilUnixMs: BigInt(now - 1) }), inv, now, false, policy), { kind: "exhausted", attempts: 5 });
  t.deepEqual(claimDecision("deleted", inv, now, false, policy), { kind: "withdrawn" });
  t.deepEqual(claimDecision(undefined, inv, now, false, policy), { kind: "run", attempt: 1 }, "its state expired while it waited");
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.PENDING, generation: 1 }), inv, now, false, policy), { kind: "done" }, "a copy of a generation that was replayed since");
  const replayed = create(AsyncInvocationSchema, { ...inv, generation: 1 });
  t.deepEqual(claimDecision(entry({ state: AsyncEntryState.PENDING, generation: 1 }), replayed, now, false, policy), { kind: "run", attempt: 1 }, "a replay starts counting again");
});

/** The invoker with a balancer that fails with `code`: what type does the outcome get, and is it recorded? */
async function invokeFailing(code: Code | undefined, final: boolean) {
  const records: InvocationRecord[] = [];
  const balancer = {
    invoke: async () => {
      if (code !== undefined) throw new ConnectError("boom", code);
      return { outcome: create(InvocationOutcomeSchema, { invocationId: "b".repeat(32), status: InvocationStatus.FUNCTION_ERROR, error: create(FunctionErrorSchema, { type: "TypeError", message: "bad" }) }) };
    },
  } as unknown as Client<typeof BalancerService>;
  const invoker = new Invoker({
    balancer,
    recorder: { add: (r: InvocationRecord) => records.push(r), recorded: async () => true } as unknown as InvocationRecorder,
    logger: createLogger("test", "silent"),
    maxPayloadBytes: 1024,
    platformAllowanceMs: 1000,
    reprepare: async () => {},
  });
  const spec = create(FunctionSpecSchema, { name: "fn" });
  const response = await invoker.run("b".repeat(32), spec, new TextEncoder().encode("{}"), true, startSpan("t", ROOT_CONTEXT), () => final);
  return { response, records };
}

test("the invoker classifies the balancer's failures so that only the retryable ones are retried, and records only final attempts", async (t) => {
  const unavailable = await invokeFailing(Code.Unavailable, false);
  t.is(unavailable.response.error?.type, "Unavailable");
  t.true(isRetryable(unavailable.response));
  t.is(unavailable.records.length, 0, "an attempt that will be retried is not recorded");
  const full = await invokeFailing(Code.ResourceExhausted, true);
  t.is(full.response.error?.type, "NoCapacity");
  t.true(isRetryable(full.response));
  t.is(full.records.length, 1);
  for (const [code, type] of [
    [Code.DeadlineExceeded, "PlatformTimeout"],
    [Code.Internal, "Internal"],
    [Code.Unknown, "Unknown"],
  ] as const) {
    const r = await invokeFailing(code, true);
    t.is(r.response.error?.type, type);
    t.false(isRetryable(r.response), type);
  }
  const own = await invokeFailing(undefined, true);
  t.is(own.response.status, InvocationStatus.FUNCTION_ERROR);
  t.false(isRetryable(own.response));
  t.is(own.records.length, 1);
});

test("the async settings have documented defaults and are validated", (t) => {
  const cfg = loadGatewayConfig({});
  t.deepEqual(
    [cfg.asyncMaxAttempts, cfg.asyncBackoffBaseMs, cfg.asyncBackoffMaxMs, cfg.asyncWorkers, cfg.asyncAckWaitMs, cfg.asyncStoreTimeoutMs],
    [5, 1000, 60_000, 64, 30_000, 5000],
  );
  t.is(loadGatewayConfig({ ASYNC_WORKERS: "0" }).asyncWorkers, 0, "a gateway that only accepts");
  const inverted = t.throws(() => loadGatewayConfig({ ASYNC_BACKOFF_BASE_MS: "5000", ASYNC_BACKOFF_MAX_MS: "1000" }), { instanceOf: ConfigError }) as ConfigError;
  t.regex(inverted.problems[0], /ASYNC_BACKOFF_MAX_MS/);
  const bad = t.throws(() => loadGatewayConfig({ ASYNC_MAX_ATTEMPTS: "0", ASYNC_ACK_WAIT_MS: "10", ASYNC_WORKERS: "-1" }), { instanceOf: ConfigError }) as ConfigError;
  for (const v of ["ASYNC_MAX_ATTEMPTS", "ASYNC_ACK_WAIT_MS", "ASYNC_WORKERS"]) t.true(bad.problems.some((p) => p.startsWith(v)), v);
});
