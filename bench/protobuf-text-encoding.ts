// `npm run bench:protobuf`: what the Node text encoding (common/protobuf-text-encoding.ts) saves protobuf-es
// on the mesh's messages, against its default TextEncoder/TextDecoder one measured in the same run.
// Prints JSON: µs per toBinary and fromBinary of an InvokeRequest (the gateway → balancer call) and an
// InvocationRecord (gateway → trace-store), each encoding, and the ratios. BENCH_ITERATIONS (200000).
import * as os from "node:os";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { invocationRecord as record, InvocationRecordSchema, invokeRequest, InvokeRequestSchema } from "./protobuf-messages.js";
import { NODE_TEXT_ENCODING, type TextEncoding } from "../common/protobuf-text-encoding.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const standard = getTextEncoding();

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
