// A standard gRPC client (@grpc/grpc-js, independent of connect-es) for our services, built from the
// protobuf-es descriptors: no .proto loading at run time, and the same message types as the servers.
// Unary methods only: that is what the public API and the load generator need.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethodUnary, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";

export interface GrpcCallOptions {
  /** Relative deadline. */
  readonly timeoutMs?: number;
  readonly metadata?: Record<string, string>;
}

export interface GrpcReply<O extends DescMessage> {
  readonly message: MessageShape<O>;
  /** Response headers (initial metadata). */
  readonly headers: grpc.Metadata;
}

export type GrpcJsClient<S extends DescService> = {
  [P in keyof S["method"]]: S["method"][P] extends DescMethodUnary<infer I, infer O> ? (request: MessageInitShape<I>, options?: GrpcCallOptions) => Promise<GrpcReply<O>> : never;
} & { close(): void };

/** A failed call: grpc-js's status code and details. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly headers: grpc.Metadata | undefined,
  ) {
    super(`${grpc.status[code]}: ${details}`);
  }
}

export interface GrpcClientOptions {
  /** Sent with every call (per-call metadata adds to it), e.g. the gateway's `authorization: Bearer <key>`. */
  readonly metadata?: Record<string, string>;
  readonly channel?: grpc.ChannelOptions;
}

export function createGrpcJsClient<S extends DescService>(service: S, address: string, clientOptions: GrpcClientOptions = {}): GrpcJsClient<S> {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    if (m.methodKind !== "unary") continue;
    definition[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: unknown) => Buffer.from(toBinary(m.input, create(m.input, v as MessageInitShape<DescMessage>))),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: unknown) => Buffer.from(toBinary(m.output, v as MessageShape<DescMessage>)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  const Ctor = grpc.makeGenericClientConstructor(definition, service.typeName);
  const client = new Ctor(address.replace(/^https?:\/\//, ""), grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    "grpc.max_send_message_length": 256 * 1024 * 1024,
    ...clientOptions.channel,
  });
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const m of service.methods) {
    if (m.methodKind !== "unary") continue;
    const call = (client as unknown as Record<string, Function>)[m.localName].bind(client);
    out[m.localName] = (request: unknown, options: GrpcCallOptions = {}) =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries({ ...clientOptions.metadata, ...options.metadata })) metadata.set(k, v);
        let headers: grpc.Metadata | undefined;
        const callOptions: grpc.CallOptions = options.timeoutMs ? { deadline: Date.now() + options.timeoutMs } : {};
        const c = call(request, metadata, callOptions, (err: grpc.ServiceError | null, message: unknown) => {
          if (err) {
            // Trailers too: an error's own metadata (e.g. retry-after-ms) rides there.
            const all = headers ? headers.clone() : new grpc.Metadata();
            if (err.metadata) all.merge(err.metadata);
            reject(new GrpcCallError(err.code, err.details, all));
          }
          else resolve({ message, headers: headers ?? new grpc.Metadata() });
        });
        c.on("metadata", (md: grpc.Metadata) => (headers = md));
      });
  }
  return out as GrpcJsClient<S>;
}
