// The invocation path inside the gateway: payload checks, the call to the balancer, the mapping of an
// outcome to the caller's answer, and exactly one trace-store record per accepted invocation.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { nowUnixUs, stopwatch } from "../../common/clock.js";
import { newInvocationId } from "../../common/ids.js";
import type { Logger } from "../../common/logger.js";
import { setOutcomeStatus } from "../../common/outcome-span.js";
import { contextFromHeaders, failSpan, SpanKind, startSpan, traceparentOf, withContext, type Context, type Span } from "../../common/trace-context.js";
import type { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import {
  FunctionErrorSchema,
  FunctionRefSchema,
  InvocationOutcomeSchema,
  InvocationStatus,
  StartKind,
  TimingsSchema,
  type FunctionError,
  type FunctionSpec,
  type InvocationOutcome,
} from "../../gen/faas/common/v1/common_pb.js";
import { InvokeResponseSchema, type InvokeResponse } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { InvocationRecordSchema } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import type { InvocationRecorder } from "./invocation-recorder.js";
import type { GatewayMetrics } from "./metrics.js";

export interface InvokerOptions {
  readonly balancer: Client<typeof BalancerService>;
  readonly recorder: InvocationRecorder;
  /** Counts and times every invocation answered. */
  readonly metrics?: GatewayMetrics;
  readonly logger: Logger;
  readonly maxPayloadBytes: number;
  /** Added to a function's timeout to bound the whole call: queueing for capacity and a cold start. */
  readonly platformAllowanceMs: number;
  /** Builds the function on the nodes again (a node that lost it, or joined after the deploy). */
  readonly reprepare: (spec: FunctionSpec) => Promise<void>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const EMPTY_OBJECT = new TextEncoder().encode("{}");

/** Header that carries the invocation id on every invoke answer, errors included. */
export const INVOCATION_ID_HEADER = "faas-invocation-id";
/** Header that carries the invocation's trace id (the one to look up in Jaeger and in the logs). */
export const TRACE_ID_HEADER = "faas-trace-id";

/** The gateway's span of one invocation: the root of its trace, or a child of the caller's traceparent. */
export interface InvocationSpan {
  readonly span: Span;
  readonly ctx: Context;
}

export class Invoker {
  constructor(private readonly o: InvokerOptions) {}

  /** INVALID_ARGUMENT for bytes that are not UTF-8 JSON, RESOURCE_EXHAUSTED over the size limit. Empty is {}. */
  checkPayload(payload: Uint8Array): Uint8Array {
    if (payload.length > this.o.maxPayloadBytes) {
      throw new ConnectError(`payload is ${payload.length} bytes, over the limit of ${this.o.maxPayloadBytes}`, Code.ResourceExhausted);
    }
    if (payload.length === 0) return EMPTY_OBJECT;
    let text: string;
    try {
      text = utf8.decode(payload);
    } catch {
      throw new ConnectError("payload is not valid UTF-8", Code.InvalidArgument);
    }
    try {
      JSON.parse(text);
    } catch (err) {
      throw new ConnectError(`payload is not valid JSON: ${(err as Error).message}`, Code.InvalidArgument);
    }
    return payload;
  }

  /** Whether every record concluded so far reached trace-store within timeoutMs (InvocationRecorder.recorded). */
  recorded(timeoutMs: number): Promise<boolean> {
    return this.o.recorder.recorded(timeoutMs);
  }

  newId(): string {
    return newInvocationId();
  }

  /** Opens the invocation's trace: continues the caller's W3C traceparent header, when it sent one. */
  openSpan(invocationId: string, spec: FunctionSpec, async: boolean, requestHeader: Headers): InvocationSpan {
    // Attributes only once sampled: the SDK sanitises start attributes before its sampling decision,
    // which 90% of invocations (the default sampler) would pay for nothing.
    const traced = startSpan("gateway.invoke", contextFromHeaders(requestHeader), { kind: SpanKind.SERVER });
    if (traced.span.isRecording()) traced.span.setAttributes({ "faas.function": spec.name, "faas.tenant": spec.tenant, "faas.invocation_id": invocationId, "faas.async": async });
    return traced;
  }

  /**
   * Runs one accepted invocation to its end. Never throws: every failure becomes an outcome, and is recorded.
   * `final` says whether an outcome ends the invocation (default: every one does); a durable async attempt
   * that will be retried is not final and is not recorded, so each invocation still ends with one record.
   */
  async run(invocationId: string, spec: FunctionSpec, payload: Uint8Array, async: boolean, traced: InvocationSpan, final: (o: Pick<InvocationOutcome, "status" | "error">) => boolean = () => true): Promise<InvokeResponse> {
    const receivedAtUs = nowUnixUs();
    const elapsed = stopwatch();
    let outcome: InvocationOutcome;
    try {
      outcome = await this.#callBalancer(invocationId, spec, payload, traceparentOf(traced.ctx));
    } catch (err) {
      const e = ConnectError.from(err);
      failSpan(traced.span, err);
      withContext(traced.ctx, () => this.o.logger.warn({ invocation: invocationId, function: spec.name, code: Code[e.code], err: e.rawMessage }, "invocation failed in the platform"));
      outcome = create(InvocationOutcomeSchema, {
        invocationId,
        status: InvocationStatus.PLATFORM_ERROR,
        error: create(FunctionErrorSchema, { type: platformErrorType(e.code), message: e.rawMessage }),
      });
    }
    return this.#conclude(invocationId, spec, outcome, receivedAtUs, elapsed(), async, traced, final(outcome));
  }

  /** Ends an accepted invocation that cannot run at all (its function was deleted while it waited): recorded like any other. */
  notRun(invocationId: string, spec: FunctionSpec, error: FunctionError, async: boolean, traced: InvocationSpan): InvokeResponse {
    const outcome = create(InvocationOutcomeSchema, { invocationId, status: InvocationStatus.PLATFORM_ERROR, error });
    return this.#conclude(invocationId, spec, outcome, nowUnixUs(), 0n, async, traced, true);
  }

  #conclude(invocationId: string, spec: FunctionSpec, outcome: InvocationOutcome, receivedAtUs: bigint, totalUs: bigint, async: boolean, traced: InvocationSpan, recorded: boolean): InvokeResponse {
    const timings = outcome.timings ?? create(TimingsSchema);
    timings.totalUs = totalUs;
    const record = create(InvocationRecordSchema, {
      invocationId,
      function: spec.name,
      nodeId: outcome.nodeId,
      containerId: outcome.containerId,
      startKind: outcome.startKind,
      status: outcome.status,
      timings,
      receivedAtUnixUs: receivedAtUs,
      batchId: outcome.batchId,
      batchSize: outcome.batchSize,
      errorType: outcome.error?.type ?? "",
      errorMessage: outcome.error?.message ?? "",
      async,
    });
    if (recorded) {
      this.o.recorder.add(record);
      this.o.metrics?.invocation(record);
    }
    endInvocationSpan(traced.span, outcome);
    return create(InvokeResponseSchema, {
      invocationId,
      status: outcome.status,
      output: outcome.output,
      error: outcome.error,
      timings,
      startKind: outcome.startKind,
      nodeId: outcome.nodeId,
      containerId: outcome.containerId,
    });
  }

  async #callBalancer(invocationId: string, spec: FunctionSpec, payload: Uint8Array, traceparent: string): Promise<InvocationOutcome> {
    const request = {
      invocationId,
      traceparent,
      function: create(FunctionRefSchema, { name: spec.name, digest: spec.digest, limits: spec.limits, pure: spec.pure, batchWindowMs: spec.batchWindowMs, tenant: spec.tenant }),
      payload,
    };
    // Caller cancellation is not passed on: a started invocation runs to its end and is recorded.
    const options = { timeoutMs: (spec.limits?.timeoutMs ?? 60_000) + this.o.platformAllowanceMs };
    try {
      return (await this.o.balancer.invoke(request, options)).outcome ?? missingOutcome(invocationId);
    } catch (err) {
      if (ConnectError.from(err).code !== Code.FailedPrecondition) throw err;
      // The chosen node does not have this version: build it there, then try once more.
      await this.o.reprepare(spec);
      return (await this.o.balancer.invoke(request, options)).outcome ?? missingOutcome(invocationId);
    }
  }
}

/** A sync invoke's answer: the response, or the error code its outcome calls for. */
export function answerFor(response: InvokeResponse): InvokeResponse {
  const e = response.error;
  switch (response.status) {
    case InvocationStatus.TIMEOUT:
      throw new ConnectError(`invocation ${response.invocationId} timed out: ${e?.message ?? ""}`, Code.DeadlineExceeded);
    case InvocationStatus.PLATFORM_ERROR:
      throw new ConnectError(`invocation ${response.invocationId} could not run: ${e?.message ?? ""}`, e?.type === "NoCapacity" ? Code.ResourceExhausted : Code.Unavailable);
    default:
      return response;
  }
}

/** What the invocation came to, on the gateway's span: the attributes a Jaeger search filters on. */
function endInvocationSpan(span: Span, o: InvocationOutcome): void {
  if (span.isRecording()) {
    span.setAttributes({
      "faas.status": InvocationStatus[o.status],
      "faas.start_kind": StartKind[o.startKind],
      "faas.coldstart": o.startKind === StartKind.COLD,
      "faas.node": o.nodeId,
      "faas.container": o.containerId,
    });
    if (o.batchId) span.setAttributes({ "faas.batch.id": o.batchId, "faas.batch.size": o.batchSize });
    setOutcomeStatus(span, o);
  }
  span.end();
}

/** The error type of a failed balancer call; durable async retries "Unavailable" and "NoCapacity" (async/retry-policy.ts). */
function platformErrorType(code: Code): string {
  if (code === Code.ResourceExhausted) return "NoCapacity";
  if (code === Code.DeadlineExceeded) return "PlatformTimeout";
  return Code[code] ?? "Unavailable";
}

function missingOutcome(invocationId: string): never {
  throw new ConnectError(`balancer answered invocation ${invocationId} without an outcome`, Code.Internal);
}
