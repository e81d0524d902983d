// Reads what trace-store knows of a run: every record of the run's window (paged), its container events,
// and the summary's containers and memory-seconds. Records arrive in batches, so it waits (with a
// deadline) until every invocation the client saw accepted has its record.
import type { GrpcJsClient } from "../../client/grpc-js.js";
import type { ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import type { InvocationRecord, TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import type { ReplayRun } from "../replay/replayer.js";
import type { ServerFacts } from "./run-report.js";

const PAGE = 10_000;

export async function collectServerFacts(traceStore: GrpcJsClient<typeof TraceStoreService>, run: ReplayRun, waitMs = 60_000): Promise<ServerFacts> {
  // The window starts a little before the run (clock granularity) and is open at the end: records of
  // the run's last invocations are written after it ends.
  const filter = { sinceUnixUs: BigInt(run.startedAtUnixMs - 1000) * 1000n };
  const expected = new Set(run.results.filter((r) => r.invocationId).map((r) => r.invocationId));
  const records = new Map<string, InvocationRecord>();
  const deadline = Date.now() + waitMs;
  let after = "";
  for (;;) {
    const page = (await traceStore.queryInvocations({ filter, limit: PAGE, afterInvocationId: after })).message.records;
    for (const r of page) records.set(r.invocationId, r);
    if (page.length === PAGE) {
      after = page[page.length - 1].invocationId;
      continue;
    }
    let missing = 0;
    for (const id of expected) if (!records.has(id)) missing++;
    if (missing === 0 || Date.now() > deadline) break;
    // Pages follow the time the gateway received each invocation, and a slow invocation's record comes
    // late with an early time: scan again from the start.
    after = "";
    await new Promise((r) => setTimeout(r, 200));
  }
  const events: ContainerStateChanged[] = [];
  let since = filter.sinceUnixUs;
  for (;;) {
    const page = (await traceStore.queryContainerEvents({ filter: { sinceUnixUs: since }, limit: PAGE })).message.events;
    events.push(...page);
    if (page.length < PAGE) break;
    since = page[page.length - 1].atUnixUs + 1n;
  }
  const summary = (await traceStore.summarize({ filter: { sinceUnixUs: filter.sinceUnixUs, untilUnixUs: BigInt(Date.now()) * 1000n } })).message;
  return { records, events, containersCreated: Number(summary.containersCreated), memoryMbSeconds: summary.memoryMbSeconds };
}
