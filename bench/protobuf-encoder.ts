// `npm run bench:encoder`: common/protobuf-binary-encoder.ts against protobuf-es's toBinary (with the Node
// text encoding the services use), alternated in one run, on the messages every invocation encodes: the
// gateway → balancer InvokeRequest, the InvocationRecord for trace-store, and each as the gRPC envelope
// the hops send. Prints JSON: µs per call of each, the faster of two runs, and the ratios encoder/toBinary.
// BENCH_ITERATIONS (200000).
import * as os from "node:os";
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { InvokeRequestSchema } from "../gen/faas/balancer/v1/balancer_pb.js";
import { FunctionRefSchema, InvocationStatus, LimitsSchema, StartKind, TimingsSchema } from "../gen/faas/common/v1/common_pb.js";
import { InvocationRecordSchema } from "../gen/faas/tracestore/v1/trace_store_pb.js";
import { encodeEnvelope, encodeMessage } from "../common/protobuf-binary-encoder.js";
import { useNodeTextEncoding } from "../common/protobuf-text-encoding.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
useNodeTextEncoding();

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

/** A gRPC envelope around toBinary's bytes, as the hops made them before the encoder. */
function envelope(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

type Encode = <D extends DescMessage>(schema: D, message: MessageShape<D>) => Uint8Array;
const contenders: Record<"to_binary" | "encoder", { message: Encode; envelope: Encode }> = {
  to_binary: { message: toBinary, envelope: (s, m) => envelope(toBinary(s, m)) },
  encoder: { message: encodeMessage, envelope: encodeEnvelope },
};

function perCallUs<D extends DescMessage>(encode: Encode, schema: D, message: MessageShape<D>): number {
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) bytes += encode(schema, message).length;
  const us = Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
  if (bytes === 0) throw new Error("nothing encoded");
  return us;
}

type Figures = Record<"invoke_request" | "invoke_request_envelope" | "invocation_record" | "invocation_record_envelope", number>;
function measure(k: keyof typeof contenders): Figures {
  const c = contenders[k];
  return {
    invoke_request: perCallUs(c.message, InvokeRequestSchema, invokeRequest),
    invoke_request_envelope: perCallUs(c.envelope, InvokeRequestSchema, invokeRequest),
    invocation_record: perCallUs(c.message, InvocationRecordSchema, record),
    invocation_record_envelope: perCallUs(c.envelope, InvocationRecordSchema, record),
  };
}

// A pass of each warms the JIT; then two alternated runs each, the faster reported.
measure("to_binary");
measure("encoder");
const runs = { to_binary: [] as Figures[], encoder: [] as Figures[] };
for (let i = 0; i < 2; i++) for (const k of ["to_binary", "encoder"] as const) runs[k].push(measure(k));
const best = (k: keyof typeof runs): Figures => {
  const [a, b] = runs[k];
  const out = {} as Figures;
  for (const f of Object.keys(a!) as (keyof Figures)[]) out[f] = Number(Math.min(a![f], b![f]).toFixed(3));
  return out;
};
const toBinaryUs = best("to_binary");
const encoderUs = best("encoder");
const ratios = {} as Figures;
for (const f of Object.keys(toBinaryUs) as (keyof Figures)[]) ratios[f] = Number((encoderUs[f] / toBinaryUs[f]).toFixed(3));
console.log(
  JSON.stringify(
    {
      to_binary_us: toBinaryUs,
      encoder_us: encoderUs,
      encoder_vs_to_binary: ratios,
      samples: { iterations: ITERATIONS, runs_each: 2, reported: "the faster of the two" },
      machine: { cpus: os.cpus().length, node: process.version },
    },
    null,
    2,
  ),
);
