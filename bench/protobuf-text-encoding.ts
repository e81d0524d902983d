// `npm run bench:protobuf`: what the Node text encoding (common/protobuf-text-encoding.ts) saves protobuf-es
// on the mesh's messages, against its default TextEncoder/TextDecoder one measured in the same run.
// Prints JSON: µs per toBinary and fromBinary of an InvokeRequest (the gateway → balancer call) and an
// InvocationRecord (gateway → trace-store), each encoding, and the ratios. BENCH_ITERATIONS (200000).
import * as os from "node:os";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { InvokeRequestSchema } from "../gen/faas/balancer/v1/balancer_pb.js";
import { FunctionRefSchema, InvocationStatus, LimitsSchema, StartKind, TimingsSchema } from "../gen/faas/common/v1/common_pb.js";
import { InvocationRecordSchema } from "../gen/faas/tracestore/v1/trace_store_pb.js";
import { NODE_TEXT_ENCODING, type TextEncoding } from "../common/protobuf-text-encoding.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const standard = getTextEncoding();

const invokeRequest = create(InvokeRequestSchema, {
  invocationId: "0123456789abcdef0123456789abcdef",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  function: create(FunctionRefSchema, { name: "dev_noop", digest: "sha256:" + "0123456789abcdef".repeat(4), tenant: "dev", limits: create(LimitsSchema, { memoryMb: 256, timeoutMs: 60_000, maxConcurrency: 1 }) }),
  payload: new TextEncoder().encode("{}"),
});
const record = create(InvocationRecordSchema, {
  invocationId: "0123456789abcdef0123456789abcdef",
  function: "dev_noop",
  nodeId: "node-1",
  containerId: "c-0123456789abcdef",
  startKind: StartKind.WARM,
  status: InvocationStatus.OK,
  timings: create(TimingsSchema, { queuedUs: 12n, startupUs: 0n, initUs: 0n, execUs: 85n, totalUs: 1850n }),
  receivedAtUnixUs: 1_765_000_000_000_000n,
});

function perCallUs<D extends DescMessage>(schema: D, message: MessageShape<D>): { to_binary_us: number; from_binary_us: number } {
  const bytes = toBinary(schema, message);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) toBinary(schema, message);
  const toUs = Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fromBinary(schema, bytes);
  const fromUs = Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
  return { to_binary_us: Number(toUs.toFixed(3)), from_binary_us: Number(fromUs.toFixed(3)) };
}

function measure(encoding: TextEncoding) {
  configureTextEncoding(encoding);
  // A first pass warms the JIT; the second is reported.
  perCallUs(InvokeRequestSchema, invokeRequest);
  perCallUs(InvocationRecordSchema, record);
  return { invoke_request: perCallUs(InvokeRequestSchema, invokeRequest), invocation_record: perCallUs(InvocationRecordSchema, record) };
}

// Alternated, twice each, so the machine's drift hits both.
const runs = [measure(standard), measure(NODE_TEXT_ENCODING), measure(standard), measure(NODE_TEXT_ENCODING)];
const best = (i: number, msg: "invoke_request" | "invocation_record", f: "to_binary_us" | "from_binary_us") => Math.min(runs[i][msg][f], runs[i + 2][msg][f]);
const summary = (i: number) => ({
  invoke_request: { to_binary_us: best(i, "invoke_request", "to_binary_us"), from_binary_us: best(i, "invoke_request", "from_binary_us") },
  invocation_record: { to_binary_us: best(i, "invocation_record", "to_binary_us"), from_binary_us: best(i, "invocation_record", "from_binary_us") },
});
const textEncoder = summary(0);
const node = summary(1);
const r = (a: number, b: number) => Number((a / b).toFixed(3));
console.log(
  JSON.stringify(
    {
      text_encoder: textEncoder,
      node_buffer: node,
      node_vs_text_encoder: {
        invoke_request_to_binary: r(node.invoke_request.to_binary_us, textEncoder.invoke_request.to_binary_us),
        invoke_request_from_binary: r(node.invoke_request.from_binary_us, textEncoder.invoke_request.from_binary_us),
        invocation_record_to_binary: r(node.invocation_record.to_binary_us, textEncoder.invocation_record.to_binary_us),
        invocation_record_from_binary: r(node.invocation_record.from_binary_us, textEncoder.invocation_record.from_binary_us),
      },
      samples: { iterations: ITERATIONS, runs_per_encoding: 2, reported: "the faster of the two" },
      machine: { cpus: os.cpus().length, node: process.version },
    },
    null,
    2,
  ),
);
