// "Nothing lost" as a number: every accepted invocation id is looked up among trace-store's records of
// the function; an id without a record is lost. All records of the function are read again until every
// accepted id is there or the wait runs out: the gateway may still be delivering what it buffered while
// trace-store was away.
import type { GrpcJsClient } from "../../client/grpc-js.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import type { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";

export interface RecordAudit {
  /** Accepted invocations with a record. */
  readonly recorded: number;
  /** Accepted invocation ids without one. */
  readonly lost: readonly string[];
  /** Records of the function whose id no caller was told (its answer never reached the caller). */
  readonly unanswered: number;
  /** Records by status (OK, FUNCTION_ERROR, TIMEOUT, PLATFORM_ERROR, ...) and, for platform errors, type. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Milliseconds after the audit began until the last record was there. */
  readonly waitedMs: number;
}

export async function auditRecords(traceStore: GrpcJsClient<typeof TraceStoreService>, fn: string, accepted: ReadonlySet<string>, waitMs: number): Promise<RecordAudit> {
  const start = Date.now();
  const seen = new Map<string, { status: InvocationStatus; errorType: string }>();
  for (;;) {
    // From the start every time: pages follow the gateway's receipt time, and a record delivered late
    // (buffered through a trace-store restart, or of a long invocation) lands before the last page's end.
    let after = "";
    for (;;) {
      const page = (await traceStore.queryInvocations({ filter: { function: fn }, limit: 10_000, afterInvocationId: after }, { timeoutMs: 30_000 })).message.records;
      for (const r of page) seen.set(r.invocationId, { status: r.status, errorType: r.errorType });
      if (page.length === 0) break;
      after = page[page.length - 1].invocationId;
      if (page.length < 10_000) break;
    }
    const missing = [...accepted].filter((id) => !seen.has(id));
    if (missing.length === 0 || Date.now() - start > waitMs) {
      const statuses: Record<string, number> = {};
      for (const id of accepted) {
        const r = seen.get(id);
        if (!r) continue;
        const key = r.status === InvocationStatus.PLATFORM_ERROR ? `PLATFORM_ERROR/${r.errorType}` : InvocationStatus[r.status];
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      return { recorded: accepted.size - missing.length, lost: missing, unanswered: [...seen.keys()].filter((id) => !accepted.has(id)).length, statuses, waitedMs: Date.now() - start };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
