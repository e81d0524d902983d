// The processor that encodes spans as they end batches as the SDK's BatchSpanProcessor does: full
// batches go at once, a partial one after the scheduled delay or on flush, one export at a time, spans
// past the queue's bound are dropped, unsampled ones never exported, failures reported and survived.
import test from "ava";
import { fromBinary } from "@bufbuild/protobuf";
import { ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { setGlobalErrorHandler, loggingErrorHandler } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, ParentBasedSampler } from "@opentelemetry/sdk-trace-base";
import { EncodingSpanProcessor, type EncodedSpanExporter } from "../../common/encoding-span-processor.js";
import type { BatchSettings } from "../../common/tracing-config.js";
import { LeanTracer } from "../../common/lean-spans.js";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/trace/v1/otlp_traces_pb.js";

/** An exporter that keeps what it is sent; each send waits until release() when held. */
class RecordingExporter implements EncodedSpanExporter {
  readonly names: string[][] = [];
  shutdowns = 0;
  failNext = false;
  #held: (() => void)[] | undefined;
  #sent: (() => void)[] = [];

  hold(): void {
    this.#held = [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const go of held) go();
  }

  /**
   * Resolves once n batches have arrived. The processor's timers are unref'd (they must not keep a
   * service alive), so a timer of the test's own keeps the process up meanwhile, and fails it if the
   * batches never come.
   */
  async batches(n: number): Promise<void> {
    let guard: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => (guard = setTimeout(() => reject(new Error(`${this.names.length} of ${n} batches after 10 s`)), 10_000)));
    try {
      while (this.names.length < n) await Promise.race([new Promise<void>((resolve) => this.#sent.push(resolve)), stalled]);
    } finally {
      clearTimeout(guard);
    }
  }

  async send(body: Uint8Array): Promise<void> {
    const req = fromBinary(ExportTraceServiceRequestSchema, body);
    this.names.push(req.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((sp) => sp.name))));
    for (const wake of this.#sent.splice(0)) wake();
    if (this.#held) await new Promise<void>((resolve) => this.#held!.push(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("collector down");
    }
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

function setup(settings: Partial<BatchSettings>) {
  const exporter = new RecordingExporter();
  const processor = new EncodingSpanProcessor(exporter, settings);
  const tracer = new LeanTracer({ processor, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), resource: resourceFromAttributes({ "service.name": "faas-test" }), scope: { name: "faas-mesh" } });
  const end = (...names: string[]) => names.forEach((n) => tracer.startSpan(n, {}, ROOT_CONTEXT).end());
  return { exporter, processor, tracer, end };
}

const names = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

test("full batches go at once, in order; the rest on flush", async (t) => {
  const { exporter, processor, end } = setup({ maxExportBatchSize: 3, scheduledDelayMillis: 60_000 });
  end(...names("s", 0, 7));
  await exporter.batches(2);
  t.deepEqual(exporter.names, [names("s", 0, 3), names("s", 3, 6)]);
  await processor.forceFlush();
  t.deepEqual(exporter.names, [names("s", 0, 3), names("s", 3, 6), ["s6"]]);
  await processor.forceFlush();
  t.is(exporter.names.length, 3, "an empty flush exports nothing");
});

test("a partial batch goes after the scheduled delay", async (t) => {
  const { exporter, end } = setup({ maxExportBatchSize: 100, scheduledDelayMillis: 20 });
  end("lonely");
  await exporter.batches(1);
  t.deepEqual(exporter.names, [["lonely"]]);
});

test("spans of unsampled traces are not exported", async (t) => {
  const { exporter, processor, tracer } = setup({});
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: TraceFlags.NONE, isRemote: true });
  tracer.startSpan("dropped", {}, unsampled).end();
  tracer.startSpan("kept", {}, ROOT_CONTEXT).end();
  await processor.forceFlush();
  t.deepEqual(exporter.names, [["kept"]]);
});

test("one export at a time; spans past maxQueueSize are dropped while the exporter is slow", async (t) => {
  const { exporter, processor, end } = setup({ maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 60_000 });
  exporter.hold();
  end("a", "b"); // sent, held
  await exporter.batches(1);
  end("c", "d"); // sealed, waiting behind it
  end("e", "f"); // the queue holds 4: dropped
  t.is(exporter.names.length, 1, "the second batch waits for the first");
  const flushed = processor.forceFlush();
  exporter.release();
  await exporter.batches(2);
  exporter.release();
  await flushed;
  t.deepEqual(exporter.names, [["a", "b"], ["c", "d"]]);
  end("g");
  await processor.forceFlush();
  t.deepEqual(exporter.names.at(-1), ["g"], "room again once the exports are done");
});

test("a failed export is reported and the next batch still goes", async (t) => {
  const errors: unknown[] = [];
  setGlobalErrorHandler((e) => errors.push(e));
  try {
    const { exporter, processor, end } = setup({ maxExportBatchSize: 1 });
    exporter.failNext = true;
    end("lost", "next");
    await processor.forceFlush();
    t.deepEqual(exporter.names, [["lost"], ["next"]]);
    t.is(errors.length, 1);
    t.regex(String((errors[0] as Error).message ?? errors[0]), /collector down/);
  } finally {
    setGlobalErrorHandler(loggingErrorHandler());
  }
});

test("an export past the timeout no longer holds up the next batch", async (t) => {
  const { exporter, processor, end } = setup({ maxExportBatchSize: 1, exportTimeoutMillis: 30 });
  exporter.hold();
  end("stuck");
  await exporter.batches(1);
  // The hold is per send: the second batch's send is held too, until released below.
  end("after");
  await exporter.batches(2);
  exporter.release();
  await processor.forceFlush();
  t.deepEqual(exporter.names, [["stuck"], ["after"]]);
});

test("shutdown exports what is left, shuts the exporter down once, and takes no more spans", async (t) => {
  const { exporter, processor, end } = setup({ scheduledDelayMillis: 60_000 });
  end("last");
  await Promise.all([processor.shutdown(), processor.shutdown()]);
  t.deepEqual(exporter.names, [["last"]]);
  t.is(exporter.shutdowns, 1);
  end("too late");
  await processor.forceFlush();
  t.is(exporter.names.length, 1);
});
