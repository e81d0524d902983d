// How an invocation's outcome marks a span of it: ERROR with the error's message unless the outcome is
// OK. The gateway's span, the balancer's route spans and the sidecar's function.execute end this way.
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import { SpanStatusCode, type Span } from "./trace-context.js";

export function setOutcomeStatus(span: Span, outcome: { readonly status: InvocationStatus; readonly error?: { readonly message: string } }): void {
  if (outcome.status !== InvocationStatus.OK && span.isRecording()) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error?.message ?? InvocationStatus[outcome.status] });
}
