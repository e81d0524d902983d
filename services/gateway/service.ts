// gRPC/Connect handlers of faas.gateway.v1: the public API. Every request is checked here; the work is
// done by the deployer (functions) and the invoker (invocations).
import { bind, type ServiceBinding } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { traceIdOf, type Span } from "../../common/trace-context.js";
import { AsyncState, GatewayService } from "../../gen/faas/gateway/v1/gateway_pb.js";
import type { AsyncResults } from "./async-results.js";
import type { FunctionDeployer } from "./function-deployer.js";
import type { FunctionRegistry } from "./function-registry.js";
import { validateFunctionName, ValidationError } from "./function-validation.js";
import { answerFor, INVOCATION_ID_HEADER, TRACE_ID_HEADER, type Invoker } from "./invoker.js";

export interface GatewayParts {
  readonly registry: FunctionRegistry;
  readonly deployer: FunctionDeployer;
  readonly invoker: Invoker;
  readonly asyncResults: AsyncResults;
  /** Settles when an accepted async invocation ends; the service waits for these on stop. */
  readonly track: (work: Promise<unknown>) => void;
}

const MAX_WAIT_MS = 60_000;
const INVOCATION_ID = /^[0-9a-f]{32}$/;

function setTraceIdHeader(header: Headers, span: Span): void {
  const traceId = traceIdOf(span);
  if (traceId) header.set(TRACE_ID_HEADER, traceId);
}

export function gatewayService(p: GatewayParts) {
  const lookup = (name: string) => {
    try {
      validateFunctionName(name, "function");
    } catch (err) {
      throw new ConnectError((err as ValidationError).message, Code.InvalidArgument);
    }
    const spec = p.registry.get(name);
    if (!spec) throw new ConnectError(`function ${name} not found`, Code.NotFound);
    return spec;
  };

  return bind(GatewayService, {
      async deployFunction(req) {
        return p.deployer.deploy(req.spec, req.code);
      },
      getFunction(req) {
        return { spec: lookup(req.name) };
      },
      listFunctions() {
        return { functions: p.registry.list() };
      },
      async deleteFunction(req) {
        await p.deployer.delete(req.name);
        return {};
      },
      async invoke(req, ctx) {
        const spec = lookup(req.function);
        const payload = p.invoker.checkPayload(req.payload);
        const id = p.invoker.newId();
        ctx.responseHeader.set(INVOCATION_ID_HEADER, id);
        const traced = p.invoker.openSpan(id, spec, false, ctx.requestHeader);
        setTraceIdHeader(ctx.responseHeader, traced.span);
        return answerFor(await p.invoker.run(id, spec, payload, false, traced));
      },
      invokeAsync(req, ctx) {
        const spec = lookup(req.function);
        const payload = p.invoker.checkPayload(req.payload);
        const id = p.invoker.newId();
        ctx.responseHeader.set(INVOCATION_ID_HEADER, id);
        const traced = p.invoker.openSpan(id, spec, true, ctx.requestHeader);
        setTraceIdHeader(ctx.responseHeader, traced.span);
        p.asyncResults.accept(id);
        p.track(p.invoker.run(id, spec, payload, true, traced).then((result) => p.asyncResults.complete(id, result)));
        return { invocationId: id };
      },
      async getResult(req, ctx) {
        if (!INVOCATION_ID.test(req.invocationId)) throw new ConnectError("invocation_id must be 32 lower-case hex digits", Code.InvalidArgument);
        if (req.waitMs > MAX_WAIT_MS) throw new ConnectError(`wait_ms must be at most ${MAX_WAIT_MS}`, Code.InvalidArgument);
        const found = await p.asyncResults.get(req.invocationId, req.waitMs, ctx.signal);
        if (!found) throw new ConnectError(`invocation ${req.invocationId} not found (unknown, or its result expired)`, Code.NotFound);
        return found.result ? { state: AsyncState.DONE, result: found.result } : { state: AsyncState.PENDING };
      },
    });
}
