// Where a replay sends its invocations: the gateway, over gRPC (@grpc/grpc-js, a standard client) or
// Connect (HTTP/1.1 + binary protobuf via connect-node). Both give the same ClientOutcome.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createGrpcJsClient, GrpcCallError } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { GatewayService, type InvokeResponse } from "../../gen/faas/gateway/v1/gateway_pb.js";

/** What the client saw of one invocation. */
export interface ClientOutcome {
  /** Empty when the gateway refused the call before accepting it. */
  readonly invocationId: string;
  /** "OK", "FUNCTION_ERROR", ... for answered calls; the gRPC code name ("DEADLINE_EXCEEDED", ...) for failed ones. */
  readonly status: string;
  readonly startKind: StartKind;
  readonly execUs: number;
  readonly error?: string;
}

export interface ReplayTarget {
  readonly name: string;
  invoke(fn: string, payload: Uint8Array, timeoutMs: number): Promise<ClientOutcome>;
  close(): void;
}

function answered(r: InvokeResponse): ClientOutcome {
  return {
    invocationId: r.invocationId,
    status: InvocationStatus[r.status] ?? String(r.status),
    startKind: r.startKind,
    execUs: Number(r.timings?.execUs ?? 0n),
    error: r.error ? `${r.error.type}: ${r.error.message}` : undefined,
  };
}

/** apiKey: the tenant's key, sent as `authorization: Bearer <key>` on every call. */
export function grpcTarget(address: string, apiKey: string): ReplayTarget {
  const client = createGrpcJsClient(GatewayService, address, { metadata: { authorization: `Bearer ${apiKey}` } });
  return {
    name: "grpc",
    async invoke(fn, payload, timeoutMs) {
      try {
        return answered((await client.invoke({ function: fn, payload }, { timeoutMs })).message);
      } catch (err) {
        if (!(err instanceof GrpcCallError)) throw err;
        const id = err.headers?.get("faas-invocation-id")[0];
        return { invocationId: typeof id === "string" ? id : "", status: grpc.status[err.code], startKind: StartKind.UNSPECIFIED, execUs: 0, error: err.details };
      }
    },
    close: () => client.close(),
  };
}

export function connectTarget(baseUrl: string, apiKey: string): ReplayTarget {
  const client = createClient(
    GatewayService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: true,
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${apiKey}`), next(req))],
    }),
  );
  return {
    name: "connect",
    async invoke(fn, payload, timeoutMs) {
      let headerId = "";
      try {
        return answered(await client.invoke({ function: fn, payload }, { timeoutMs, onHeader: (h) => (headerId = h.get("faas-invocation-id") ?? "") }));
      } catch (err) {
        const e = ConnectError.from(err);
        return { invocationId: headerId || (e.metadata.get("faas-invocation-id") ?? ""), status: Code[e.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), startKind: StartKind.UNSPECIFIED, execUs: 0, error: e.rawMessage };
      }
    },
    close: () => {},
  };
}
