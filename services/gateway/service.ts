// gRPC/Connect handlers of faas.gateway.v1: the public API. Every request is authenticated and checked
// here; the work is done by the deployer (functions) and the invoker (invocations). A tenant sees its own
// namespace only: another tenant's function is "not found", exactly like one that does not exist.
import { isInvocationId } from "../../common/ids.js";
import { bind } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { failSpan, traceIdOf, traceparentOf, type Span } from "../../common/trace-context.js";
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { AsyncState, GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import type { DurableAsync } from "./async/durable-async.js";
import type { FunctionDeployer } from "./function-deployer.js";
import type { FunctionRegistry } from "./function-registry.js";
import { checked, validateFunctionName } from "./function-validation.js";
import { answerFor, INVOCATION_ID_HEADER, TRACE_ID_HEADER, type Invoker } from "./invoker.js";
import type { Authenticator } from "./tenancy/authenticator.js";
import type { Admission, TenantLimiter } from "./tenancy/tenant-limits.js";
import { qualifiedName, shortName } from "./tenancy/tenant-names.js";
import type { TenantRecord } from "./tenancy/tenant-store.js";

export interface GatewayParts {
  readonly registry: FunctionRegistry;
  readonly deployer: FunctionDeployer;
  readonly invoker: Invoker;
  /** Durable async invocations (JetStream): accepted here, run by the workers of any gateway. */
  readonly asyncInvocations: Pick<DurableAsync, "accept" | "get">;
  readonly auth: Authenticator;
  readonly limiter: TenantLimiter;
}

const MAX_WAIT_MS = 60_000;
/** Header of a RESOURCE_EXHAUSTED answer caused by a tenant's quota: when to try again. */
export const RETRY_AFTER_MS_HEADER = "retry-after-ms";

/**
 * Names the invocation's trace in the answer when the trace is recorded: an unsampled trace is in no
 * collector to look up (its id is still on the log lines), and the header costs each answer a few µs.
 */
function setTraceIdHeader(header: Headers, span: Span): void {
  const traceId = span.isRecording() ? traceIdOf(span) : "";
  if (traceId) header.set(TRACE_ID_HEADER, traceId);
}

/** The spec as its tenant knows it: the short name. */
function publicSpec(spec: FunctionSpec): FunctionSpec {
  return { ...spec, name: shortName(spec.name) };
}

/** RESOURCE_EXHAUSTED with the retry hint in `retry-after-ms` (and HTTP's `retry-after`, in seconds). */
function admitted(a: Admission): Extract<Admission, { admitted: true }> {
  if (a.admitted) return a;
  throw new ConnectError(`${a.reason}; retry after ${a.retryAfterMs} ms`, Code.ResourceExhausted, {
    [RETRY_AFTER_MS_HEADER]: String(a.retryAfterMs),
    "retry-after": String(Math.ceil(a.retryAfterMs / 1000)),
  });
}

export function gatewayService(p: GatewayParts) {
  const validName = (name: string, field: string) => checked(() => validateFunctionName(name, field));
  const lookup = (tenant: TenantRecord, name: string) => {
    const spec = p.registry.get(qualifiedName(tenant.name, validName(name, "function")));
    if (!spec) throw new ConnectError(`function ${name} not found`, Code.NotFound);
    return spec;
  };

  return bind(GatewayService, {
    async deployFunction(req, ctx) {
      const tenant = p.auth.tenant(ctx.requestHeader);
      const deployed = await p.deployer.deploy(tenant.name, req.spec, req.code);
      return { spec: publicSpec(deployed.spec), nodes: deployed.nodes };
    },
    getFunction(req, ctx) {
      return { spec: publicSpec(lookup(p.auth.tenant(ctx.requestHeader), req.name)) };
    },
    listFunctions(_req, ctx) {
      const caller = p.auth.authenticate(ctx.requestHeader);
      // The operator (and zygote-builder, which plans package sets over all of them) sees every tenant's, by qualified name.
      if (caller.kind === "operator") return { functions: p.registry.list() };
      return { functions: p.registry.list().filter((s) => s.tenant === caller.tenant.name).map(publicSpec) };
    },
    async deleteFunction(req, ctx) {
      const tenant = p.auth.tenant(ctx.requestHeader);
      await p.deployer.delete(tenant.name, validName(req.name, "name"));
      return {};
    },
    async invoke(req, ctx) {
      const tenant = p.auth.tenant(ctx.requestHeader);
      const spec = lookup(tenant, req.function);
      const payload = p.invoker.checkPayload(req.payload);
      const slot = admitted(p.limiter.admit(tenant.name, tenant.quota));
      try {
        const id = p.invoker.newId();
        ctx.responseHeader.set(INVOCATION_ID_HEADER, id);
        const traced = p.invoker.openSpan(id, spec, false, ctx.requestHeader);
        setTraceIdHeader(ctx.responseHeader, traced.span);
        return answerFor(await p.invoker.run(id, spec, payload, false, traced));
      } finally {
        slot.release();
      }
    },
    async invokeAsync(req, ctx) {
      const tenant = p.auth.tenant(ctx.requestHeader);
      const spec = lookup(tenant, req.function);
      const payload = p.invoker.checkPayload(req.payload);
      admitted(p.limiter.admitRate(tenant.name, tenant.quota));
      const id = p.invoker.newId();
      ctx.responseHeader.set(INVOCATION_ID_HEADER, id);
      const traced = p.invoker.openSpan(id, spec, true, ctx.requestHeader);
      setTraceIdHeader(ctx.responseHeader, traced.span);
      // Stored in JetStream before the answer; UNAVAILABLE (nothing accepted) when it cannot be.
      try {
        await p.asyncInvocations.accept({ id, tenant: tenant.name, function: spec.name, payload, traceparent: traceparentOf(traced.ctx) });
      } catch (err) {
        failSpan(traced.span, err);
        throw err;
      } finally {
        traced.span.end();
      }
      return { invocationId: id };
    },
    async getResult(req, ctx) {
      const tenant = p.auth.tenant(ctx.requestHeader);
      if (!isInvocationId(req.invocationId)) throw new ConnectError("invocation_id must be 32 lower-case hex digits", Code.InvalidArgument);
      if (req.waitMs > MAX_WAIT_MS) throw new ConnectError(`wait_ms must be at most ${MAX_WAIT_MS}`, Code.InvalidArgument);
      const found = await p.asyncInvocations.get(req.invocationId, tenant.name, req.waitMs, ctx.signal);
      if (!found) throw new ConnectError(`invocation ${req.invocationId} not found (unknown, or its result expired)`, Code.NotFound);
      return found.state === "done" ? { state: AsyncState.DONE, result: found.result } : { state: AsyncState.PENDING };
    },
  });
}
