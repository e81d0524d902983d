// A real OTLP/HTTP traces receiver in the test process: POST /v1/traces in either standard encoding,
// application/x-protobuf (decoded with the OTLP messages in proto/opentelemetry) or application/json
// (ids as hex). It keeps every span, flattened with its service name, and which encoding each request used.
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { eventually } from "./eventually.js";
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
  type AnyValue,
  type KeyValue,
} from "../../gen/opentelemetry/proto/trace/v1/otlp_traces_pb.js";

export type OtlpEncoding = "protobuf" | "json";

export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Record<string, string | number | boolean>;
  readonly status: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}

function plainProto(kvs: KeyValue[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs) out[key] = scalar(value);
  return out;
}

function scalar(value: AnyValue | undefined): string | number | boolean {
  const v = value?.value;
  if (v?.case === "stringValue" || v?.case === "boolValue" || v?.case === "doubleValue") return v.value;
  if (v?.case === "intValue") return Number(v.value);
  return "";
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function plain(kvs: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue ?? value.boolValue ?? "");
  }
  return out;
}

/** The one span of that name among spans; throws when there is none or more than one. */
export function onlySpan(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one ${name} span, got ${found.length}`);
  return found[0];
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests that were not OTLP traces (a test fails on any). */
  readonly rejected: string[] = [];
  /** The encoding of every accepted request, in arrival order. */
  readonly encodings: OtlpEncoding[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const receiver = new OtlpReceiver(server);
    server.on("request", (req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** The trace's spans once one of each name has arrived (exports come in batches, from several processes). */
  waitForSpans(traceId: string, names: readonly string[]): Promise<ReceivedSpan[]> {
    return eventually(
      () => {
        const spans = this.trace(traceId);
        return names.every((n) => spans.some((s) => s.name === n)) && spans;
      },
      `spans ${names.join(", ")} of trace ${traceId}`,
      60_000,
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const type = req.headers["content-type"] ?? "";
      const encoding: OtlpEncoding | undefined = type.startsWith("application/x-protobuf") ? "protobuf" : type.startsWith("application/json") ? "json" : undefined;
      if (req.method !== "POST" || req.url !== "/v1/traces" || !encoding) {
        this.rejected.push(`${req.method} ${req.url} ${type}`);
        res.writeHead(404).end();
        return;
      }
      try {
        const body = Buffer.concat(chunks);
        if (encoding === "protobuf") this.takeProtobuf(body);
        else this.takeJson(body);
        this.encodings.push(encoding);
        if (encoding === "protobuf") {
          res.writeHead(200, { "content-type": "application/x-protobuf" }).end(toBinary(ExportTraceServiceResponseSchema, create(ExportTraceServiceResponseSchema)));
        } else {
          res.writeHead(200, { "content-type": "application/json" }).end("{}");
        }
      } catch (err) {
        this.rejected.push(`undecodable ${encoding}: ${(err as Error).message}`);
        res.writeHead(400).end();
      }
    });
  }

  private takeProtobuf(body: Buffer): void {
    const request = fromBinary(ExportTraceServiceRequestSchema, body);
    for (const rs of request.resourceSpans) {
      const service = String(plainProto(rs.resource?.attributes ?? [])["service.name"] ?? "");
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          this.spans.push({
            service,
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            name: s.name,
            kind: s.kind,
            startNs: s.startTimeUnixNano,
            endNs: s.endTimeUnixNano,
            attributes: plainProto(s.attributes),
            status: s.status?.code ?? 0,
          });
        }
      }
    }
  }

  private takeJson(body: Buffer): void {
    const parsed = JSON.parse(body.toString("utf8"));
    for (const rs of parsed.resourceSpans ?? []) {
      const service = String(plain(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: s.kind,
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
            attributes: plain(s.attributes),
            status: s.status?.code ?? 0,
          });
        }
      }
    }
  }
}
