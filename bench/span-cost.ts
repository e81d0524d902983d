// `npm run bench:spans`: the CPU a recorded span costs a process, on the path a service's spans take:
// start with attributes, a child, attributes set later, end, batching, our OTLP protobuf encoding (the
// request is built and dropped: no socket). Four ways: the SDK's span objects and the mesh's lean ones
// (common/lean-spans.ts), each batched by the SDK's BatchSpanProcessor or encoded as it ends
// (common/encoding-span-processor.ts); lean and encoded is what the services run. Batching at its default settings
// (queue 2048, batches of 512), the loop yielding every 250 pairs as a server's would, so that exports
// run between them. Rounds rotate the order so the machine's drift hits all; prints JSON with each
// one's median µs per span and its ratio to the SDK's. BENCH_SPAN_PAIRS (20000) pairs of spans per
// round, BENCH_SPAN_ROUNDS (10).
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, AlwaysOnSampler, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { EncodingSpanProcessor } from "../common/encoding-span-processor.js";
import { LeanTracer } from "../common/lean-spans.js";
import { nearestRank, sortedCopy } from "../common/percentiles.js";
import { encodeSpans } from "../common/otlp-span-encoder.js";

const PAIRS = Number(process.env.BENCH_SPAN_PAIRS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_SPAN_ROUNDS ?? 10);

/** Encodes every batch as the real exporter does, then drops it. */
class EncodingSink implements SpanExporter {
  bytes = 0;
  export(spans: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    this.bytes += encodeSpans(spans).length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

type Kind = "sdk" | "lean" | "encoded" | "sdk-encoded";
const KINDS: Kind[] = ["sdk", "lean", "encoded", "sdk-encoded"];

interface Contender {
  readonly tracer: Tracer;
  readonly processor: SpanProcessor;
}

function contender(kind: Kind): Contender {
  const resource = resourceFromAttributes({ "service.name": "faas-bench", "service.namespace": "faas" });
  const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() });
  const scope = { name: "faas-mesh" };
  if (kind === "encoded" || kind === "sdk-encoded") {
    let bytes = 0;
    const processor = new EncodingSpanProcessor({ send: async (body) => void (bytes += body.length), shutdown: async () => {} });
    if (kind === "encoded") return { tracer: new LeanTracer({ processor, sampler, resource, scope }), processor };
    return { tracer: new BasicTracerProvider({ resource, sampler, spanProcessors: [processor] }).getTracer("faas-mesh"), processor };
  }
  const processor = new BatchSpanProcessor(new EncodingSink());
  if (kind === "lean") return { tracer: new LeanTracer({ processor, sampler, resource, scope }), processor };
  const provider = new BasicTracerProvider({ resource, sampler, spanProcessors: [processor] });
  return { tracer: provider.getTracer("faas-mesh"), processor };
}

/** CPU µs per span for PAIRS pairs of nested spans, flush included. */
async function round(c: Contender): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < PAIRS; i++) {
    const parent = c.tracer.startSpan("node-manager.acquire", { kind: SpanKind.SERVER, attributes: { "faas.function": "dev_noop", "faas.tenant": "dev" } }, ROOT_CONTEXT);
    parent.setAttributes({ "faas.start_kind": "WARM", "faas.container": "nm-abc123" });
    const child = c.tracer.startSpan("sidecar.execute", { startTime: Date.now() }, trace.setSpan(ROOT_CONTEXT, parent));
    child.setAttribute("faas.status", "OK");
    child.end(Date.now());
    parent.end();
    if (i % 250 === 249) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await c.processor.forceFlush();
  const used = process.cpuUsage(cpu0);
  return (used.user + used.system) / (2 * PAIRS);
}

const median = (xs: number[]) => nearestRank(sortedCopy(xs), 50);

async function main() {
  const contenders = Object.fromEntries(KINDS.map((k) => [k, contender(k)])) as Record<Kind, Contender>;
  // Warm all (V8's tiers) before measuring.
  for (const k of KINDS) await round(contenders[k]);
  const perSpan: Record<Kind, number[]> = { sdk: [], lean: [], encoded: [], "sdk-encoded": [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]!);
    for (const k of order) perSpan[k].push(await round(contenders[k]));
  }
  const ratio = (k: Kind) => Number(median(perSpan[k].map((x, i) => x / perSpan.sdk[i]!)).toFixed(3));
  const result = {
    pairs_per_round: PAIRS,
    rounds: ROUNDS,
    sdk_us_per_span: Number(median(perSpan.sdk).toFixed(3)),
    lean_us_per_span: Number(median(perSpan.lean).toFixed(3)),
    encoded_us_per_span: Number(median(perSpan.encoded).toFixed(3)),
    lean_to_sdk_ratio: ratio("lean"),
    encoded_to_sdk_ratio: ratio("encoded"),
    sdk_encoded_us_per_span: Number(median(perSpan["sdk-encoded"]).toFixed(3)),
    sdk_encoded_to_sdk_ratio: ratio("sdk-encoded"),
  };
  console.log(JSON.stringify(result, null, 2));
  await Promise.all(KINDS.map((k) => contenders[k].processor.shutdown()));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
