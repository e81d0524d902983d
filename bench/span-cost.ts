// `npm run bench:spans`: the CPU a recorded span costs a process, the SDK's span objects against the
// mesh's lean ones (common/lean-spans.ts), on the path a service's spans take: start with attributes,
// a child, attributes set later, end, the SDK's BatchSpanProcessor, our OTLP protobuf encoding (the
// request is built and dropped: no socket). Rounds alternate the two so the machine's drift hits both;
// prints JSON with each one's median µs per span and the ratio lean/sdk. BENCH_SPAN_PAIRS (20000) pairs
// of spans per round, BENCH_SPAN_ROUNDS (10).
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, AlwaysOnSampler, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
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

interface Contender {
  readonly tracer: Tracer;
  readonly processor: BatchSpanProcessor;
}

function contender(kind: "sdk" | "lean"): Contender {
  const resource = resourceFromAttributes({ "service.name": "faas-bench", "service.namespace": "faas" });
  const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() });
  // A queue big enough that no span is dropped between the processor's scheduled exports.
  const processor = new BatchSpanProcessor(new EncodingSink(), { maxQueueSize: 4 * PAIRS, maxExportBatchSize: 512, scheduledDelayMillis: 200 });
  if (kind === "lean") return { tracer: new LeanTracer({ processor, sampler, resource, scope: { name: "faas-mesh" } }), processor };
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
  }
  await c.processor.forceFlush();
  const used = process.cpuUsage(cpu0);
  return (used.user + used.system) / (2 * PAIRS);
}

const median = (xs: number[]) => nearestRank(sortedCopy(xs), 50);

async function main() {
  const sdk = contender("sdk");
  const lean = contender("lean");
  // Warm both (V8's tiers) before measuring.
  await round(sdk);
  await round(lean);
  const perSpan = { sdk: [] as number[], lean: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<"sdk" | "lean"> = r % 2 === 0 ? ["sdk", "lean"] : ["lean", "sdk"];
    for (const k of order) perSpan[k].push(await round(k === "sdk" ? sdk : lean));
  }
  const ratios = perSpan.lean.map((l, i) => l / perSpan.sdk[i]);
  const result = {
    pairs_per_round: PAIRS,
    rounds: ROUNDS,
    sdk_us_per_span: Number(median(perSpan.sdk).toFixed(3)),
    lean_us_per_span: Number(median(perSpan.lean).toFixed(3)),
    lean_to_sdk_ratio: Number(median(ratios).toFixed(3)),
  };
  console.log(JSON.stringify(result, null, 2));
  await Promise.all([sdk.processor.shutdown(), lean.processor.shutdown()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
