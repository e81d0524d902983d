// Our OTLP/HTTP protobuf exporter against a real HTTP server on loopback: what it posts, which answers it
// retries (429, 502, 503, 504, a failed connection) and which it gives up on at once, and its shutdown.
import test from "ava";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { OtlpHttpProtobufExporter } from "../../common/otlp-http-exporter.js";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/trace/v1/otlp_traces_pb.js";

interface Received {
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/** A server that answers its requests with the given statuses in turn (the last one thereafter). */
async function collector(statuses: number[]): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ contentType: req.headers["content-type"], body: Buffer.concat(chunks) });
      res.writeHead(statuses[Math.min(received.length, statuses.length) - 1]).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    received,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function someSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "faas-test" }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer("t").startSpan("gateway.invoke", { attributes: { "faas.function": "f" } }).end();
  return memory.getFinishedSpans();
}

const exported = (exporter: OtlpHttpProtobufExporter, spans: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

test("posts the spans as OTLP protobuf and succeeds on 200", async (t) => {
  const c = await collector([200]);
  t.teardown(c.close);
  const exporter = new OtlpHttpProtobufExporter({ url: c.url });
  const result = await exported(exporter, someSpans());
  t.is(result.code, ExportResultCode.SUCCESS);
  t.is(c.received.length, 1);
  t.is(c.received[0].contentType, "application/x-protobuf");
  const req = fromBinary(ExportTraceServiceRequestSchema, c.received[0].body);
  t.is(req.resourceSpans[0].scopeSpans[0].spans[0].name, "gateway.invoke");
  await exporter.shutdown();
});

test("retries 503 and 429 with back-off, then succeeds", async (t) => {
  const c = await collector([503, 429, 200]);
  t.teardown(c.close);
  const exporter = new OtlpHttpProtobufExporter({ url: c.url, attempts: 3 });
  const result = await exported(exporter, someSpans());
  t.is(result.code, ExportResultCode.SUCCESS);
  t.is(c.received.length, 3, "two retries");
  t.deepEqual(c.received[2].body, c.received[0].body, "the same request each time");
  await exporter.shutdown();
});

test("gives up after its attempts on a retryable answer, at once on another", async (t) => {
  const busy = await collector([502]);
  t.teardown(busy.close);
  const a = new OtlpHttpProtobufExporter({ url: busy.url, attempts: 2 });
  const failed = await exported(a, someSpans());
  t.is(failed.code, ExportResultCode.FAILED);
  t.regex(failed.error!.message, /answered 502/);
  t.is(busy.received.length, 2);

  const bad = await collector([400]);
  t.teardown(bad.close);
  const b = new OtlpHttpProtobufExporter({ url: bad.url, attempts: 5 });
  const refused = await exported(b, someSpans());
  t.is(refused.code, ExportResultCode.FAILED);
  t.is(bad.received.length, 1, "a 400 is not retried");
  await Promise.all([a.shutdown(), b.shutdown()]);
});

test("a collector that is not there fails the export after its attempts; after shutdown exports fail at once", async (t) => {
  const c = await collector([200]);
  const url = c.url;
  c.close();
  const exporter = new OtlpHttpProtobufExporter({ url, attempts: 2, timeoutMs: 2000 });
  const result = await exported(exporter, someSpans());
  t.is(result.code, ExportResultCode.FAILED);
  await exporter.shutdown();
  const after = await exported(exporter, someSpans());
  t.is(after.code, ExportResultCode.FAILED);
  t.regex(after.error!.message, /shut down/);
});

test("shutdown waits for an export in flight", async (t) => {
  let answer: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => (answer = () => res.writeHead(200).end()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const exporter = new OtlpHttpProtobufExporter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` });
  const result = exported(exporter, someSpans());
  // Wait for the request to be held by the server (a condition, not a sleep).
  while (!answer) await new Promise((resolve) => setImmediate(resolve));
  let shutDown = false;
  const shutdown = exporter.shutdown().then(() => (shutDown = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(shutDown, "shutdown does not return while the export is in flight");
  answer();
  t.is((await result).code, ExportResultCode.SUCCESS);
  await shutdown;
  t.true(shutDown);
});
