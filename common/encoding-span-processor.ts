// A batching span processor that encodes each span the moment it ends, for the OTLP/HTTP protobuf
// exporter. The SDK's BatchSpanProcessor keeps every span object until its batch goes (512 spans or
// 5 s): under load a span outlives a few scavenges, is promoted to the old generation, and the
// collector pays for it again there. In `npm run bench:spans` that garbage was ~40% of what a recorded
// span cost. Encoded at once, a span's objects die young and a waiting span is ~200 bytes in a buffer
// (README, "What tracing costs"). Batching follows the BatchSpanProcessor's rules and settings (the
// standard OTEL_BSP_* variables): a batch goes when it holds maxExportBatchSize spans or when the first
// of its spans has waited scheduledDelayMillis; one export at a time; spans past maxQueueSize waiting
// are dropped, and counted in one warning.
import { diag, TraceFlags, type Context } from "@opentelemetry/api";
import { globalErrorHandler } from "@opentelemetry/core";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SpanRequestBuilder } from "./otlp-span-encoder.js";
import { DEFAULT_BATCH_SETTINGS, type BatchSettings } from "./tracing-config.js";

/** Where encoded batches go: OtlpHttpProtobufExporter. */
export interface EncodedSpanExporter {
  /** POSTs one ExportTraceServiceRequest; rejects when it could not be delivered. */
  send(body: Uint8Array): Promise<void>;
  shutdown(): Promise<void>;
}

/** A batch sealed for export: its request's bytes and how many spans they hold. */
interface SealedBatch {
  readonly body: Uint8Array;
  readonly spans: number;
}

export class EncodingSpanProcessor implements SpanProcessor {
  readonly #exporter: EncodedSpanExporter;
  readonly #settings: BatchSettings;
  /** The batch being filled. */
  readonly #open = new SpanRequestBuilder();
  /** Sealed batches not yet exported, oldest first. */
  readonly #sealed: SealedBatch[] = [];
  /** Spans in the open and sealed batches and in the export under way: what maxQueueSize bounds. */
  #waiting = 0;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #exporting: Promise<void> | undefined;
  #shutdown: Promise<void> | undefined;

  constructor(exporter: EncodedSpanExporter, settings: Partial<BatchSettings> = {}) {
    this.#exporter = exporter;
    const s = { ...DEFAULT_BATCH_SETTINGS, ...settings };
    // As the SDK has it: a batch is never larger than the queue.
    this.#settings = s.maxExportBatchSize > s.maxQueueSize ? { ...s, maxExportBatchSize: s.maxQueueSize } : s;
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutdown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#waiting >= this.#settings.maxQueueSize) {
      if (this.#dropped++ === 0) diag.debug("maxQueueSize reached, dropping spans");
      return;
    }
    if (this.#dropped > 0) {
      diag.warn(`Dropped ${this.#dropped} spans because maxQueueSize reached`);
      this.#dropped = 0;
    }
    this.#open.add(span);
    this.#waiting++;
    if (this.#open.count >= this.#settings.maxExportBatchSize) {
      this.#seal();
      this.#pump();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#seal();
        this.#pump();
      }, this.#settings.scheduledDelayMillis);
      this.#timer.unref();
    }
  }

  /** Exports every span that has ended, and waits for it. */
  async forceFlush(): Promise<void> {
    this.#seal();
    this.#pump();
    while (this.#exporting) await this.#exporting;
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.forceFlush().finally(() => this.#exporter.shutdown());
    return this.#shutdown;
  }

  #seal(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const spans = this.#open.count;
    if (spans > 0) this.#sealed.push({ spans, body: this.#open.take() });
  }

  /** Starts the next export unless one is under way; each one starts the next as it ends. */
  #pump(): void {
    if (this.#exporting) return;
    const batch = this.#sealed.shift();
    if (!batch) return;
    this.#exporting = this.#export(batch).finally(() => {
      this.#waiting -= batch.spans;
      this.#exporting = undefined;
      this.#pump();
    });
  }

  async #export(batch: SealedBatch): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    // As the BatchSpanProcessor: an export that outlasts exportTimeoutMillis no longer holds up the next.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Timeout")), this.#settings.exportTimeoutMillis);
      timer.unref();
    });
    try {
      await Promise.race([this.#exporter.send(batch.body), timeout]);
    } catch (err) {
      globalErrorHandler(err as Error);
    } finally {
      clearTimeout(timer);
    }
  }
}
