// The `<Method>Stream` convention: a bidi-streaming rpc whose requests are {call_id, request, timeout_ms}
// and whose responses are {call_id, response, status} carries many calls of the unary <Method> on one
// long-lived stream (see the protos). A new HTTP/2 stream per call costs each side several times what a
// message on an open one costs, and invocations cross three internal hops.
import type { DescMessage, DescMethod, DescMethodBiDiStreaming, DescMethodUnary, DescService } from "@bufbuild/protobuf";

export interface MultiplexedMethod {
  readonly unary: DescMethodUnary;
  readonly stream: DescMethodBiDiStreaming;
}

const hasFields = (m: DescMessage, names: string[]) => names.every((n) => m.fields.some((f) => f.name === n));

/** The unary methods of a service that have a `<Method>Stream` companion, by the unary method's name. */
export function multiplexedMethods(service: DescService): Map<string, MultiplexedMethod> {
  const out = new Map<string, MultiplexedMethod>();
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const stream: DescMethod | undefined = service.methods.find((m) => m.name === `${method.name}Stream`);
    if (stream?.methodKind !== "bidi_streaming") continue;
    if (!hasFields(stream.input, ["call_id", "request", "timeout_ms"]) || !hasFields(stream.output, ["call_id", "response", "status"])) continue;
    out.set(method.name, { unary: method as DescMethodUnary, stream: stream as DescMethodBiDiStreaming });
  }
  return out;
}
