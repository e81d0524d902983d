// `npm run bench:codec`: common/protobuf-binary-encoder.ts and protobuf-binary-decoder.ts against
// protobuf-es's toBinary and fromBinary (with the Node text encoding the services use), alternated in one
// run, on messages every invocation encodes and decodes: the gateway → balancer InvokeRequest, the
// InvocationRecord for trace-store, each also as the gRPC envelope the hops send. Prints JSON: µs per
// call of each, the faster of two runs, and the ratios ours/protobuf-es. BENCH_ITERATIONS (200000).
import * as os from "node:os";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { invocationRecord as record, InvocationRecordSchema, invokeRequest, InvokeRequestSchema } from "./protobuf-messages.js";
import { decodeMessage } from "../common/protobuf-binary-decoder.js";
import { encodeEnvelope, encodeMessage } from "../common/protobuf-binary-encoder.js";
import { useNodeTextEncoding } from "../common/protobuf-text-encoding.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
useNodeTextEncoding();

/** A gRPC envelope around toBinary's bytes, as the hops made them before the encoder. */
function envelope(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

type Encode = <D extends DescMessage>(schema: D, message: MessageShape<D>) => Uint8Array;
type Decode = <D extends DescMessage>(schema: D, bytes: Uint8Array) => MessageShape<D>;
const contenders: Record<"protobuf_es" | "ours", { message: Encode; envelope: Encode; decode: Decode }> = {
  protobuf_es: { message: toBinary, envelope: (s, m) => envelope(toBinary(s, m)), decode: (s, b) => fromBinary(s, b) },
  ours: { message: encodeMessage, envelope: encodeEnvelope, decode: decodeMessage },
};

function encodeUs<D extends DescMessage>(encode: Encode, schema: D, message: MessageShape<D>): number {
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) bytes += encode(schema, message).length;
  const us = Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
  if (bytes === 0) throw new Error("nothing encoded");
  return us;
}

function decodeUs<D extends DescMessage>(decode: Decode, schema: D, message: MessageShape<D>): number {
  const bytes = Buffer.from(toBinary(schema, message)); // the hops decode Buffers
  let fields = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fields += Object.keys(decode(schema, bytes)).length;
  const us = Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
  if (fields === 0) throw new Error("nothing decoded");
  return us;
}

type Figures = Record<"invoke_request_encode" | "invoke_request_envelope" | "invoke_request_decode" | "invocation_record_encode" | "invocation_record_envelope" | "invocation_record_decode", number>;
function measure(k: keyof typeof contenders): Figures {
  const c = contenders[k];
  return {
    invoke_request_encode: encodeUs(c.message, InvokeRequestSchema, invokeRequest),
    invoke_request_envelope: encodeUs(c.envelope, InvokeRequestSchema, invokeRequest),
    invoke_request_decode: decodeUs(c.decode, InvokeRequestSchema, invokeRequest),
    invocation_record_encode: encodeUs(c.message, InvocationRecordSchema, record),
    invocation_record_envelope: encodeUs(c.envelope, InvocationRecordSchema, record),
    invocation_record_decode: decodeUs(c.decode, InvocationRecordSchema, record),
  };
}

// A pass of each warms the JIT; then two alternated runs each, the faster reported.
measure("protobuf_es");
measure("ours");
const runs = { protobuf_es: [] as Figures[], ours: [] as Figures[] };
for (let i = 0; i < 2; i++) for (const k of ["protobuf_es", "ours"] as const) runs[k].push(measure(k));
const best = (k: keyof typeof runs): Figures => {
  const [a, b] = runs[k];
  const out = {} as Figures;
  for (const f of Object.keys(a!) as (keyof Figures)[]) out[f] = Number(Math.min(a![f], b![f]).toFixed(3));
  return out;
};
const protobufEsUs = best("protobuf_es");
const oursUs = best("ours");
const ratios = {} as Figures;
for (const f of Object.keys(protobufEsUs) as (keyof Figures)[]) ratios[f] = Number((oursUs[f] / protobufEsUs[f]).toFixed(3));
console.log(
  JSON.stringify(
    {
      protobuf_es_us: protobufEsUs,
      ours_us: oursUs,
      ours_vs_protobuf_es: ratios,
      samples: { iterations: ITERATIONS, runs_each: 2, reported: "the faster of the two" },
      machine: { cpus: os.cpus().length, node: process.version },
    },
    null,
    2,
  ),
);
