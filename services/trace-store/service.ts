// gRPC handlers of faas.tracestore.v1: argument checks and error codes; the work is in the stores.
import { bind, type ServiceBinding } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../../common/clock.js";
import type { Filter, InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { TraceStoreService } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import type { ContainerEventStore } from "./container-event-store.js";
import { GroupClosedError, type GroupCommit } from "./group-commit.js";
import { UnknownInvocationError, type InvocationStore } from "./invocation-store.js";
import type { RecordFilter } from "./record-filter.js";
import type { UsageSampleStore } from "./usage-sample-store.js";

export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;

export interface TraceStoreParts {
  readonly invocations: InvocationStore;
  /** Commits each request's records together with other requests' (group commit); resolves with its new records. */
  readonly invocationWriter: GroupCommit<readonly InvocationRecord[], number>;
  readonly containers: ContainerEventStore;
  readonly samples: UsageSampleStore;
  readonly clock: Clock;
}

export function traceStoreService(parts: TraceStoreParts) {
  return bind(TraceStoreService, {
      async recordInvocations(req) {
        // Every record is checked before any is written: a request is stored whole or not at all.
        req.records.forEach((r, i) => {
          const problem = recordProblem(r);
          if (problem) throw new ConnectError(`records[${i}] (invocation_id ${JSON.stringify(r.invocationId)}): ${problem}`, Code.InvalidArgument);
        });
        if (req.records.length === 0) return { stored: 0 };
        const stored = await storage(() => parts.invocationWriter.submit(req.records));
        return { stored };
      },

      async queryInvocations(req) {
        const filter = recordFilter(req.filter);
        const limit = pageLimit(req.limit);
        const records = await storage(async () => {
          try {
            return parts.invocations.query({ filter, limit, afterInvocationId: req.afterInvocationId, invocationId: req.invocationId });
          } catch (err) {
            if (err instanceof UnknownInvocationError) throw new ConnectError(`after_invocation_id: ${err.message}`, Code.InvalidArgument);
            throw err;
          }
        });
        return { records };
      },

      async summarize(req) {
        const filter = recordFilter(req.filter);
        const nowUs = parts.clock.now() * 1000;
        const { summary, usage, rssMbSeconds } = await storage(async () => ({
          summary: parts.invocations.summarize(filter),
          usage: parts.containers.usage(filter, nowUs),
          rssMbSeconds: parts.samples.rssMbSeconds(filter, nowUs),
        }));
        return {
          invocations: BigInt(summary.invocations),
          errors: BigInt(summary.errors),
          coldStarts: BigInt(summary.coldStarts),
          latency: summary.latency.map((l) => ({
            startKind: l.startKind,
            count: BigInt(l.count),
            p50Us: BigInt(l.p50Us),
            p95Us: BigInt(l.p95Us),
            p99Us: BigInt(l.p99Us),
            meanQueuedUs: BigInt(l.meanQueuedUs),
            meanStartupUs: BigInt(l.meanStartupUs),
            meanInitUs: BigInt(l.meanInitUs),
            meanExecUs: BigInt(l.meanExecUs),
          })),
          containersCreated: BigInt(usage.containersCreated),
          memoryMbSeconds: usage.memoryMbSeconds,
          rssMbSeconds,
          helperStarts: BigInt(usage.helperStarts),
          prewarmStarts: BigInt(usage.prewarmStarts),
        };
      },

      async queryContainerEvents(req) {
        const filter = recordFilter(req.filter);
        const limit = pageLimit(req.limit);
        const events = await storage(async () => parts.containers.query({ filter, nodeId: req.nodeId, containerId: req.containerId, limit }));
        return { events };
      },
    });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Why a record cannot be stored, or undefined. Integers must stay exact as JS numbers when read back. */
export function recordProblem(r: InvocationRecord): string | undefined {
  if (!r.invocationId) return "invocation_id is required";
  if (!r.function) return "function is required";
  if (r.receivedAtUnixUs <= 0n || r.receivedAtUnixUs > MAX_SAFE) return `received_at_unix_us must be a positive Unix time in µs, got ${r.receivedAtUnixUs}`;
  const t = r.timings;
  if (t) {
    for (const [name, value] of Object.entries({ queued_us: t.queuedUs, startup_us: t.startupUs, init_us: t.initUs, exec_us: t.execUs, total_us: t.totalUs })) {
      if (value > MAX_SAFE) return `timings.${name} ${value} is out of range`;
    }
  }
  return undefined;
}

/** The request's filter checked and converted; zero bounds are open. */
export function recordFilter(f: Filter | undefined): RecordFilter {
  const since = f?.sinceUnixUs ?? 0n;
  const until = f?.untilUnixUs ?? 0n;
  if (since !== 0n && until !== 0n && since > until) {
    throw new ConnectError(`filter.since_unix_us (${since}) is after filter.until_unix_us (${until})`, Code.InvalidArgument);
  }
  return {
    function: f?.function || null,
    sinceUs: since === 0n ? null : Number(since),
    untilUs: until === 0n ? null : Number(until),
  };
}

export function pageLimit(limit: number): number {
  if (limit > MAX_LIMIT) throw new ConnectError(`limit must be at most ${MAX_LIMIT}, got ${limit}`, Code.InvalidArgument);
  return limit === 0 ? DEFAULT_LIMIT : limit;
}

/** Runs a store operation; SQLite and shutdown failures become precise codes instead of a generic Internal. */
async function storage<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    if (err instanceof GroupClosedError) throw new ConnectError(err.message, Code.Unavailable);
    const code = (err as { code?: unknown }).code;
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw new ConnectError(`storage busy: ${(err as Error).message}`, Code.Unavailable);
    if (code === "SQLITE_FULL") throw new ConnectError(`storage full: ${(err as Error).message}`, Code.ResourceExhausted);
    throw new ConnectError(`storage failed: ${(err as Error).message}`, Code.Internal, undefined, undefined, err);
  }
}
