// An OTLP/HTTP protobuf span exporter: spans encoded in one pass (otlp-span-encoder.ts) and POSTed on a
// keep-alive connection. What the upstream proto exporter does, without its per-span object tree;
// tracing.ts uses it for `http/protobuf`, the upstream exporter stays for `http/json`.
import * as http from "node:http";
import * as https from "node:https";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeSpans } from "./otlp-span-encoder.js";

export interface OtlpHttpExporterOptions {
  readonly url: string;
  /** The agent for every request (default: a keep-alive agent of this exporter's own). */
  readonly agent?: http.Agent;
  /** Per attempt (ms). Default 10 s, the OTLP exporters' default. */
  readonly timeoutMs?: number;
  /** Attempts for a retryable answer (429, 502, 503, 504) or a failed connection. Default 3. */
  readonly attempts?: number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

class ExportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export class OtlpHttpProtobufExporter implements SpanExporter {
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #inFlight = new Set<Promise<void>>();
  #shutdown = false;

  constructor(o: OtlpHttpExporterOptions) {
    this.#url = new URL(o.url);
    const secure = this.#url.protocol === "https:";
    this.#agent = o.agent ?? (secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true }));
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#attempts = Math.max(1, o.attempts ?? 3);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#shutdown) return done({ code: ExportResultCode.FAILED, error: new Error("exporter is shut down") });
    const sent = this.send(encodeSpans(spans)).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  /** POSTs an ExportTraceServiceRequest already encoded (encoding-span-processor.ts), retrying as export does. */
  async send(body: Uint8Array): Promise<void> {
    if (this.#shutdown) throw new Error("exporter is shut down");
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#post(body);
      } catch (err) {
        if (!(err instanceof ExportError && err.retryable) || attempt >= this.#attempts || this.#shutdown) throw err;
        // Exponential back-off with jitter, as the OTLP exporters do: 100 ms, 200 ms, ...
        await new Promise((resolve) => setTimeout(resolve, (0.5 + Math.random()) * 100 * 2 ** (attempt - 1)).unref());
      }
    }
  }

  #post(body: Uint8Array): Promise<void> {
    const send = this.#url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(this.#url, {
        method: "POST",
        agent: this.#agent,
        timeout: this.#timeoutMs,
        headers: { "content-type": "application/x-protobuf", "content-length": body.length },
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        // The answer's body (a partial-success message at most) is not needed.
        res.resume();
        res.on("end", () => {
          if (status >= 200 && status < 300) resolve();
          else reject(new ExportError(`OTLP endpoint ${this.#url.href} answered ${status}`, RETRYABLE.has(status)));
        });
        res.on("error", (err) => reject(new ExportError(err.message, true)));
      });
      req.on("timeout", () => req.destroy(new ExportError(`OTLP export timed out after ${this.#timeoutMs} ms`, true)));
      req.on("error", (err) => reject(err instanceof ExportError ? err : new ExportError(err.message, true)));
      req.end(body);
    });
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }

  async shutdown(): Promise<void> {
    this.#shutdown = true;
    await this.forceFlush();
    this.#agent.destroy();
  }
}
