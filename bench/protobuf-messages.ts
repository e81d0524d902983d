// The messages the protobuf benchmarks (bench:protobuf, bench:codec) encode and decode: what every
// invocation sends, the gateway → balancer InvokeRequest and the InvocationRecord for trace-store.
import { create } from "@bufbuild/protobuf";
import { InvokeRequestSchema } from "../gen/faas/balancer/v1/balancer_pb.js";
import { FunctionRefSchema, InvocationStatus, LimitsSchema, StartKind, TimingsSchema } from "../gen/faas/common/v1/common_pb.js";
import { InvocationRecordSchema } from "../gen/faas/tracestore/v1/trace_store_pb.js";

export { InvocationRecordSchema, InvokeRequestSchema };

export const invokeRequest = create(InvokeRequestSchema, {
  invocationId: "0123456789abcdef0123456789abcdef",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  function: create(FunctionRefSchema, { name: "dev_noop", digest: "sha256:" + "0123456789abcdef".repeat(4), tenant: "dev", limits: create(LimitsSchema, { memoryMb: 256, timeoutMs: 60_000, maxConcurrency: 1 }) }),
  payload: new TextEncoder().encode("{}"),
});

export const invocationRecord = create(InvocationRecordSchema, {
  invocationId: "0123456789abcdef0123456789abcdef",
  function: "dev_noop",
  nodeId: "node-1",
  containerId: "c-0123456789abcdef",
  startKind: StartKind.WARM,
  status: InvocationStatus.OK,
  timings: create(TimingsSchema, { queuedUs: 12n, startupUs: 0n, initUs: 0n, execUs: 85n, totalUs: 1850n }),
  receivedAtUnixUs: 1_765_000_000_000_000n,
});
