// Durable async invocations on NATS JetStream.
//
// Accept: the invocation's state goes into the faas-async-results KV bucket as PENDING, then the
// invocation itself into the FAAS_ASYNC stream (Nats-Msg-Id = its id, so a publish retried after a lost
// acknowledgement is stored once); only then does InvokeAsync answer with the id. If either write fails,
// InvokeAsync answers UNAVAILABLE and the state is withdrawn (a tombstone): nothing is accepted.
//
// Work: a durable pull consumer shared by every gateway; each gateway runs at most ASYNC_WORKERS
// attempts at once. A worker claims an invocation with a compare-and-set on its KV entry (RUNNING, with a
// lease it renews while the attempt runs, as it tells JetStream the message is still being worked on),
// runs it through the invoker, then stores the result (DONE) and acknowledges the message. A message
// delivered again (a lost acknowledgement, a gateway that died, a copy) finds the result or a live claim
// and does not run the function again; a dead gateway's claim expires and another gateway takes over.
// Platform failures that never reached the function are retried with exponential back-off (a NAK with a
// delay); when the attempts run out the invocation goes to the FAAS_ASYNC_DEAD stream and its result is
// that failure. The operator lists dead letters and replays them (a new generation, a fresh attempt count).
import { hostname } from "node:os";
import { clone, create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { decodeMessage } from "../../../common/protobuf-binary-decoder.js";
import { encodeMessage } from "../../../common/protobuf-binary-encoder.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, RetentionPolicy, StorageType, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type StreamConfig } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Counter, Gauge, type Registry } from "prom-client";
import { isInvocationId, shortId } from "../../../common/ids.js";
import type { Logger } from "../../../common/logger.js";
import { contextFromTraceparent, SpanKind, startSpan, withContext } from "../../../common/trace-context.js";
import { FunctionErrorSchema, FunctionSpecSchema, InvocationStatus, type FunctionSpec } from "../../../gen/faas/common/v1/common_pb.js";
import {
  AsyncEntrySchema,
  AsyncEntryState,
  AsyncInvocationSchema,
  DeadLetterInfoSchema,
  DeadLetterSchema,
  type AsyncEntry,
  type AsyncInvocation,
  type DeadLetterInfo,
} from "../../../gen/faas/gateway/v1/async_pb.js";
import { InvokeResponseSchema, type InvokeResponse } from "../../../gen/faas/gateway/v1/gateway_pb.js";
import type { Invoker } from "../invoker.js";
import { attemptVerdict, claimDecision, type AttemptVerdict, type RetryPolicy } from "./retry-policy.js";

export const ASYNC_STREAM = "FAAS_ASYNC";
export const ASYNC_SUBJECT = "faas.async.invocations";
export const DEAD_LETTER_STREAM = "FAAS_ASYNC_DEAD";
export const deadLetterSubject = (invocationId: string) => `faas.async.dead.${invocationId}`;
export const RESULTS_BUCKET = "faas-async-results";
export const WORKERS_CONSUMER = "gateway-async-workers";
/** The msg id of an invocation's message in FAAS_ASYNC: its id when accepted, a suffixed one per replay. */
export const asyncMsgId = (invocationId: string, generation: number) => (generation === 0 ? invocationId : `${invocationId}:r${generation}`);

const NS_PER_MS = 1_000_000;
/** Room for the message's own fields and headers beside the payload, under NATS's max_payload. */
const MESSAGE_OVERHEAD_BYTES = 4096;
/** How long one pull waits for messages before the next (the consumer's pending requests stay few). */
const PULL_EXPIRES_MS = 2000;
/** Longest an attempt waits for its record to reach trace-store before acknowledging (trace-store down). */
const RECORD_WAIT_MS = 5000;

export interface DurableAsyncSettings extends RetryPolicy {
  /** Attempts this gateway runs at once (0: it only accepts; other gateways do the work). */
  readonly workers: number;
  /** A message whose worker sends no progress for this long goes to another worker; workers signal every third of it. */
  readonly ackWaitMs: number;
  /** Longest an accepted invocation waits in FAAS_ASYNC. */
  readonly streamMaxAgeMs: number;
  /** How long dead letters are kept for replay. */
  readonly deadLetterMaxAgeMs: number;
  /** TTL of the results bucket: a state or result is kept this long after its last write. */
  readonly resultTtlMs: number;
  /** Bound on storing an accepted invocation; past it InvokeAsync answers UNAVAILABLE. */
  readonly storeTimeoutMs: number;
}

/** Admission of an attempt by its tenant's quota: a slot to release after the attempt, or when to try again. */
export type AttemptAdmission = { readonly release: () => void } | { readonly retryAfterMs: number };

export interface DurableAsyncOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly invoker: Pick<Invoker, "run" | "notRun" | "recorded">;
  /** The function an invocation names (the registry's key), as it is deployed now. */
  readonly resolveFunction: (name: string) => FunctionSpec | undefined;
  readonly settings: DurableAsyncSettings;
  /** Where its metrics go (the gateway's registry). */
  readonly metrics?: Registry;
  /** Holds a slot of the tenant's concurrency while an attempt runs; without it every attempt runs at once. */
  readonly admit?: (tenant: string) => AttemptAdmission;
}

export interface AcceptRequest {
  readonly id: string;
  readonly tenant: string;
  /** The function's name inside the mesh (the registry's key). */
  readonly function: string;
  readonly payload: Uint8Array;
  readonly traceparent: string;
}

/** undefined: unknown id (never accepted, expired, or another tenant's). */
export type AsyncLookup = { readonly state: "pending" } | { readonly state: "done"; readonly result: InvokeResponse } | undefined;

interface Stored {
  readonly entry: AsyncEntry;
  readonly revision: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function unavailable(what: string, err: unknown): ConnectError {
  return new ConnectError(`${what}: async invocations are unavailable (${(err as Error).message})`, Code.Unavailable);
}

/** True for the error of a compare-and-set (KV update/create) that lost to another write. */
function isConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/** Creates the stream, or brings an existing one to this configuration (what an update may change). */
async function ensureStream(jsm: JetStreamManager, want: Partial<StreamConfig> & { name: string }): Promise<void> {
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    try {
      await jsm.streams.add(want);
      return;
    } catch (addErr) {
      // Another gateway created it meanwhile.
      have = (await jsm.streams.info(want.name).catch(() => Promise.reject(addErr))).config;
    }
  }
  const differs = (Object.keys(want) as (keyof StreamConfig)[]).some((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
  if (differs) await jsm.streams.update(want.name, { ...have, ...want });
}

export class DurableAsync {
  readonly #o: DurableAsyncOptions;
  readonly #s: DurableAsyncSettings;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  /** Names this gateway in the claims it holds. */
  readonly #owner = `${hostname()}-${process.pid}-${shortId(3)}`;
  /** Attempts being run by this gateway, by invocation id. */
  readonly #running = new Set<string>();
  /** Message handlers in progress (attempts, and the quick acknowledgement of duplicates). */
  readonly #inflight = new Set<Promise<void>>();
  readonly #slotWaiters: Array<() => void> = [];
  readonly #waiters = new Map<string, Set<() => void>>();
  #pulling: Promise<void> | undefined;
  #fetch: ConsumerMessages | undefined;
  #watching: Promise<void> | undefined;
  #watcher: { stop(): void } | undefined;
  #stopping = false;
  #closed = false;
  /** Once stop has waited this long for NATS, stored state is given up (the message is delivered again later). */
  #giveUpAt = Infinity;
  readonly #m: ReturnType<typeof metricsOf>;

  private constructor(o: DurableAsyncOptions, js: JetStreamClient, jsm: JetStreamManager, kv: KV) {
    this.#o = o;
    this.#s = o.settings;
    this.#js = js;
    this.#jsm = jsm;
    this.#kv = kv;
    this.#m = metricsOf(o.metrics);
  }

  /** Creates (or brings up to date) the streams, the bucket and the consumer, idempotently; any gateway may race another. */
  static async open(o: DurableAsyncOptions): Promise<DurableAsync> {
    const s = o.settings;
    const js = jetstream(o.nc, { timeout: s.storeTimeoutMs });
    const jsm = await jetstreamManager(o.nc, { timeout: Math.max(s.storeTimeoutMs, 10_000) });
    await ensureStream(jsm, {
      name: ASYNC_STREAM,
      description: "Accepted async invocations of the gateways, until they end (work queue).",
      subjects: [ASYNC_SUBJECT],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: s.streamMaxAgeMs * NS_PER_MS,
      duplicate_window: Math.min(120_000, s.streamMaxAgeMs) * NS_PER_MS,
    });
    await ensureStream(jsm, {
      name: DEAD_LETTER_STREAM,
      description: "Async invocations whose platform retries ran out, for the operator to replay.",
      subjects: [deadLetterSubject("*")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      max_age: s.deadLetterMaxAgeMs * NS_PER_MS,
      duplicate_window: Math.min(120_000, s.deadLetterMaxAgeMs) * NS_PER_MS,
    });
    const kv = await new Kvm(js).create(RESULTS_BUCKET, { history: 1, ttl: s.resultTtlMs, storage: StorageType.File, description: "State and result of each async invocation, by id." });
    // The bucket's TTL follows ASYNC_RESULT_TTL_MS when it was created with another.
    await ensureStream(jsm, { name: `KV_${RESULTS_BUCKET}`, max_age: s.resultTtlMs * NS_PER_MS, duplicate_window: Math.min(120_000, s.resultTtlMs) * NS_PER_MS });
    const consumer = {
      durable_name: WORKERS_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: s.ackWaitMs * NS_PER_MS,
      // Attempts are counted in the bucket (a NAK for a busy claim is not an attempt): JetStream never gives up.
      max_deliver: -1,
      // Messages waiting out a back-off count as pending acknowledgement.
      max_ack_pending: 100_000,
      filter_subject: ASYNC_SUBJECT,
      deliver_policy: DeliverPolicy.All,
    };
    try {
      await jsm.consumers.info(ASYNC_STREAM, WORKERS_CONSUMER);
      await jsm.consumers.update(ASYNC_STREAM, WORKERS_CONSUMER, { ack_wait: consumer.ack_wait, max_ack_pending: consumer.max_ack_pending, max_deliver: consumer.max_deliver });
    } catch (err) {
      if (!isConsumerNotFound(err)) throw err;
      await jsm.consumers.add(ASYNC_STREAM, consumer).catch(async (addErr) => {
        // Another gateway added it meanwhile.
        await jsm.consumers.info(ASYNC_STREAM, WORKERS_CONSUMER).catch(() => Promise.reject(addErr));
      });
    }
    const q = new DurableAsync(o, js, jsm, kv);
    q.#watching = q.#watch();
    return q;
  }

  /** Starts taking invocations from the stream (nothing with 0 workers). */
  start(): void {
    if (this.#s.workers > 0 && !this.#pulling) this.#pulling = this.#pull();
  }

  /** Attempts running in this gateway now. */
  get running(): number {
    return this.#running.size;
  }

  /** Stores an invocation durably; resolves once it is accepted. UNAVAILABLE when it could not be stored. */
  async accept(r: AcceptRequest): Promise<void> {
    if (this.#stopping) throw new ConnectError("the gateway is stopping", Code.Unavailable);
    const acceptedAtUnixMs = BigInt(Date.now());
    const data = encodeMessage(AsyncInvocationSchema, create(AsyncInvocationSchema, { invocationId: r.id, tenant: r.tenant, function: r.function, payload: r.payload, traceparent: r.traceparent, acceptedAtUnixMs }));
    const maxPayload = this.#o.nc.info?.max_payload;
    if (maxPayload && data.length + MESSAGE_OVERHEAD_BYTES > maxPayload) {
      throw new ConnectError(`payload is ${r.payload.length} bytes; an async invocation's payload must stay under NATS's max_payload of ${maxPayload} bytes (about ${maxPayload - MESSAGE_OVERHEAD_BYTES})`, Code.ResourceExhausted);
    }
    const entry = create(AsyncEntrySchema, { tenant: r.tenant, state: AsyncEntryState.PENDING, acceptedAtUnixMs, function: r.function });
    try {
      await this.#kv.create(r.id, encodeMessage(AsyncEntrySchema, entry));
    } catch (err) {
      throw unavailable("storing the invocation failed", err);
    }
    try {
      await this.#js.publish(ASYNC_SUBJECT, data, { msgID: r.id, timeout: this.#s.storeTimeoutMs });
    } catch (err) {
      // Withdrawn: a copy that reached the stream after all finds the tombstone and is dropped, not run.
      void this.#kv.delete(r.id).catch(() => {});
      throw unavailable("storing the invocation failed", err);
    }
    this.#m.accepted.inc();
  }

  /**
   * The invocation's state as its tenant sees it; with waitMs > 0 a pending one is watched until it ends,
   * the time passes or the signal aborts. UNAVAILABLE when NATS cannot be read.
   */
  async get(id: string, tenant: string, waitMs: number, signal: AbortSignal): Promise<AsyncLookup> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const left = deadline - Date.now();
      // Registered before the read: an update between the read and the wait still wakes it.
      const waiter = left > 0 && !signal.aborted ? this.#waiter(id) : undefined;
      let found: AsyncLookup;
      try {
        found = await this.#lookup(id, tenant);
      } catch (err) {
        waiter?.cancel();
        throw unavailable("reading the result failed", err);
      }
      if (!waiter || found?.state !== "pending") {
        waiter?.cancel();
        return found;
      }
      // A missed notification (the watcher reconnecting) costs at most a couple of seconds.
      await waiter.wait(Math.min(left, 2000), signal);
      if (signal.aborted || this.#closed || Date.now() >= deadline) return this.#lookup(id, tenant).catch((err) => Promise.reject(unavailable("reading the result failed", err)));
    }
  }

  /** Dead letters, oldest first: every tenant's, or one tenant's. */
  async listDeadLetters(limit = 100, tenant = ""): Promise<DeadLetterInfo[]> {
    let messages: number;
    try {
      messages = (await this.#jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
    } catch (err) {
      throw unavailable("reading dead letters failed", err);
    }
    const out: DeadLetterInfo[] = [];
    if (messages === 0 || limit <= 0) return out;
    const reader = await this.#js.consumers.get(DEAD_LETTER_STREAM, { filter_subjects: deadLetterSubject(">") });
    const batch = await reader.fetch({ max_messages: tenant ? messages : Math.min(limit, messages), expires: 2000 });
    for await (const m of batch) {
      const dl = decodeOr(DeadLetterSchema, m.data);
      const inv = dl?.invocation;
      if (inv && (!tenant || inv.tenant === tenant)) {
        out.push(
          create(DeadLetterInfoSchema, {
            invocationId: inv.invocationId,
            tenant: inv.tenant,
            function: inv.function,
            reason: dl.reason,
            attempts: dl.attempts,
            acceptedAtUnixMs: inv.acceptedAtUnixMs,
            deadAtUnixMs: dl.deadAtUnixMs,
            payloadBytes: inv.payload.length,
            generation: inv.generation,
          }),
        );
      }
      if (out.length >= limit || m.info.pending === 0) break;
    }
    await batch.close().catch(() => {});
    return out;
  }

  /**
   * Runs a dead letter again: the invocation is PENDING once more with a fresh attempt count (a new
   * generation, so a stale copy of the old one is ignored), back in FAAS_ASYNC, and out of the dead letters.
   * NOT_FOUND without a dead letter for the id; FAILED_PRECONDITION when it was replayed already.
   */
  async replay(id: string): Promise<{ generation: number }> {
    const sm = await this.#jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: deadLetterSubject(id) }).catch((err) => Promise.reject(unavailable("reading the dead letter failed", err)));
    const dl = sm && decodeOr(DeadLetterSchema, sm.data);
    if (!dl?.invocation) throw new ConnectError(`no dead letter for invocation ${id}`, Code.NotFound);
    const old = dl.invocation;
    const current = await this.#read(id).catch((err) => Promise.reject(unavailable("reading the invocation failed", err)));
    const stored = current === "deleted" ? undefined : current;
    if (stored && stored.entry.generation > old.generation) {
      await this.#purgeDeadLetter(id);
      throw new ConnectError(`invocation ${id} was replayed already (generation ${stored.entry.generation})`, Code.FailedPrecondition);
    }
    if (stored && !(stored.entry.state === AsyncEntryState.DONE && stored.entry.deadLettered)) {
      throw new ConnectError(`invocation ${id} is not dead-lettered (its state is ${AsyncEntryState[stored.entry.state]})`, Code.FailedPrecondition);
    }
    const next = clone(AsyncInvocationSchema, old);
    next.generation = old.generation + 1;
    const entry = create(AsyncEntrySchema, { tenant: old.tenant, state: AsyncEntryState.PENDING, acceptedAtUnixMs: old.acceptedAtUnixMs, generation: next.generation, function: old.function });
    let revision: number;
    try {
      revision = stored ? await this.#kv.update(id, encodeMessage(AsyncEntrySchema, entry), stored.revision) : await this.#kv.create(id, encodeMessage(AsyncEntrySchema, entry));
    } catch (err) {
      if (isConflict(err)) throw new ConnectError(`invocation ${id} changed meanwhile; try again`, Code.Aborted);
      throw unavailable("storing the replay failed", err);
    }
    try {
      await this.#js.publish(ASYNC_SUBJECT, encodeMessage(AsyncInvocationSchema, next), { msgID: asyncMsgId(id, next.generation) });
    } catch (err) {
      // Put back what it was, so that the dead letter can be replayed again.
      if (stored) await this.#kv.update(id, encodeMessage(AsyncEntrySchema, stored.entry), revision).catch(() => {});
      else await this.#kv.delete(id).catch(() => {});
      throw unavailable("publishing the replay failed", err);
    }
    await this.#purgeDeadLetter(id);
    this.#m.replayed.inc();
    this.#o.logger.info({ invocation: id, generation: next.generation, function: old.function, tenant: old.tenant }, "dead letter replayed");
    return { generation: next.generation };
  }

  /**
   * Stops taking messages, lets the attempts in progress end (their results stored and acknowledged),
   * and stops watching. Messages fetched but not started go back at once.
   */
  async stop(graceMs = 60_000): Promise<void> {
    if (this.#closed) return;
    this.#stopping = true;
    this.#giveUpAt = Date.now() + graceMs;
    void this.#fetch?.close().catch(() => {});
    for (const w of this.#slotWaiters.splice(0)) w();
    await this.#pulling;
    await Promise.allSettled([...this.#inflight]);
    this.#closed = true;
    this.#watcher?.stop();
    await this.#watching;
    for (const ws of this.#waiters.values()) for (const w of ws) w();
  }

  // ---- work ----

  async #pull(): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!this.#stopping) {
      await this.#slotFree();
      if (this.#stopping) break;
      try {
        consumer ??= await this.#js.consumers.get(ASYNC_STREAM, WORKERS_CONSUMER);
        const batch = await consumer.fetch({ max_messages: this.#s.workers - this.#inflight.size, expires: PULL_EXPIRES_MS });
        this.#fetch = batch;
        for await (const m of batch) {
          if (this.#stopping) m.nak();
          else this.#begin(m);
        }
        if (failures > 0) this.#o.logger.info("async workers take invocations again");
        failures = 0;
      } catch (err) {
        if (this.#stopping) break;
        consumer = undefined;
        if (failures++ % 30 === 0) this.#o.logger.warn({ err: (err as Error).message }, "async workers cannot take invocations; retrying");
        await sleep(1000);
      } finally {
        this.#fetch = undefined;
      }
    }
  }

  #slotFree(): Promise<void> {
    if (this.#inflight.size < this.#s.workers || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  #begin(m: JsMsg): void {
    const work = this.#handle(m).catch((err) => {
      this.#o.logger.error({ err, seq: m.seq }, "async message handling failed; it will be delivered again");
      try {
        m.nak(1000);
      } catch {
        // the connection is gone: JetStream delivers it again after the ack wait
      }
    });
    this.#inflight.add(work);
    void work.finally(() => {
      this.#inflight.delete(work);
      this.#slotWaiters.shift()?.();
    });
  }

  async #handle(m: JsMsg): Promise<void> {
    const inv = decodeOr(AsyncInvocationSchema, m.data);
    if (!inv || !isInvocationId(inv.invocationId)) {
      this.#o.logger.error({ seq: m.seq }, "undecodable async invocation dropped");
      m.term("undecodable");
      return;
    }
    const id = inv.invocationId;
    const admission = this.#o.admit?.(inv.tenant);
    if (admission && "retryAfterMs" in admission) {
      m.nak(Math.max(100, admission.retryAfterMs));
      return;
    }
    try {
      const claim = await this.#claim(inv);
      switch (claim.kind) {
        case "done":
          this.#m.skipped.inc({ reason: "done" });
          m.ack();
          return;
        case "withdrawn":
          this.#m.skipped.inc({ reason: "withdrawn" });
          m.term("withdrawn");
          return;
        case "busy":
          this.#m.skipped.inc({ reason: "busy" });
          m.nak(claim.retryInMs);
          return;
        case "exhausted":
          return await this.#abandon(m, inv, claim.attempts, claim.stored);
        case "run":
          return await this.#attempt(m, inv, claim.attempt, claim.stored);
      }
    } finally {
      admission?.release();
    }
  }

  /** Reads the entry and, when the invocation is to run, claims it (RUNNING, this gateway, a lease). */
  async #claim(inv: AsyncInvocation): Promise<
    | { kind: "run"; attempt: number; stored: Stored }
    | { kind: "exhausted"; attempts: number; stored: Stored | undefined }
    | { kind: "done" | "withdrawn" }
    | { kind: "busy"; retryInMs: number }
  > {
    const id = inv.invocationId;
    for (let tries = 1; ; tries++) {
      const current = await this.#read(id);
      const d = claimDecision(current === "deleted" ? current : current?.entry, inv, Date.now(), this.#running.has(id), this.#s);
      const stored = current === "deleted" ? undefined : current;
      if (d.kind === "exhausted") return { ...d, stored };
      if (d.kind !== "run") return d;
      const entry = create(AsyncEntrySchema, {
        tenant: inv.tenant,
        state: AsyncEntryState.RUNNING,
        attempts: d.attempt,
        owner: this.#owner,
        leaseUntilUnixMs: BigInt(Date.now() + this.#s.ackWaitMs),
        acceptedAtUnixMs: inv.acceptedAtUnixMs,
        generation: inv.generation,
        function: inv.function,
      });
      try {
        const bytes = encodeMessage(AsyncEntrySchema, entry);
        const revision = stored ? await this.#kv.update(id, bytes, stored.revision) : await this.#kv.create(id, bytes);
        return { kind: "run", attempt: d.attempt, stored: { entry, revision } };
      } catch (err) {
        // Another worker wrote first: decide again on what it wrote.
        if (!isConflict(err) || tries >= 3) throw err;
      }
    }
  }

  /** One attempt: run it, then store the result and acknowledge, or schedule the next attempt, or dead-letter it. */
  async #attempt(m: JsMsg, inv: AsyncInvocation, attempt: number, claimed: Stored): Promise<void> {
    const id = inv.invocationId;
    let stored = claimed;
    let settling = false;
    this.#running.add(id);
    this.#m.running.inc();
    // Progress while it runs: JetStream keeps the message with us, the bucket keeps our claim.
    const heartbeat = setInterval(() => {
      try {
        m.working();
      } catch {
        // disconnected: the claim's lease and the ack wait decide
      }
      if (settling) return;
      const entry = clone(AsyncEntrySchema, stored.entry);
      entry.leaseUntilUnixMs = BigInt(Date.now() + this.#s.ackWaitMs);
      const from = stored;
      void this.#kv.update(id, encodeMessage(AsyncEntrySchema, entry), from.revision).then(
        (revision) => {
          if (!settling && stored === from) stored = { entry, revision };
        },
        (err) => this.#o.logger.warn({ invocation: id, err: (err as Error).message }, "renewing the claim of an async invocation failed"),
      );
    }, Math.max(100, Math.floor(this.#s.ackWaitMs / 3)));
    try {
      const spec = this.#o.resolveFunction(inv.function);
      const traced = startSpan("gateway.async.attempt", contextFromTraceparent(inv.traceparent), {
        kind: SpanKind.CONSUMER,
        attributes: { "faas.function": inv.function, "faas.tenant": inv.tenant, "faas.invocation_id": id, "faas.async": true, "faas.async.attempt": attempt, "faas.async.generation": inv.generation },
      });
      let response: InvokeResponse;
      let verdict: AttemptVerdict;
      if (!spec || (inv.tenant !== "" && spec.tenant !== inv.tenant)) {
        const error = create(FunctionErrorSchema, { type: "FunctionNotFound", message: `function ${inv.function} was deleted before invocation ${id} ran` });
        response = this.#o.invoker.notRun(id, spec ?? create(FunctionSpecSchema, { name: inv.function, tenant: inv.tenant }), error, true, traced);
        verdict = { kind: "final" };
      } else {
        response = await this.#o.invoker.run(id, spec, inv.payload, true, traced, (o) => attemptVerdict(o, attempt, this.#s).kind !== "retry");
        verdict = attemptVerdict(response, attempt, this.#s);
      }
      this.#m.attempts.inc({ function: inv.function, verdict: verdict.kind });
      settling = true;
      if (verdict.kind === "retry") {
        withContext(traced.ctx, () => this.#o.logger.info({ invocation: id, function: inv.function, attempt, delayMs: verdict.delayMs, error: response.error?.message }, "async invocation did not reach its function; retrying"));
        const entry = clone(AsyncEntrySchema, stored.entry);
        entry.state = AsyncEntryState.PENDING;
        entry.owner = "";
        entry.leaseUntilUnixMs = 0n;
        if ((await this.#store(id, entry, stored, inv.generation)) === "superseded") m.ack();
        else m.nak(verdict.delayMs);
        return;
      }
      let result = response;
      if (verdict.kind === "dead") {
        withContext(traced.ctx, () => this.#o.logger.warn({ invocation: id, function: inv.function, tenant: inv.tenant, attempts: attempt, reason: verdict.reason }, "async invocation dead-lettered"));
        await this.#deadLetter(inv, verdict.reason, attempt);
        result = clone(InvokeResponseSchema, response);
        result.error = create(FunctionErrorSchema, { type: response.error?.type ?? "PlatformError", message: `gave up: ${verdict.reason}` });
      }
      await this.#finish(m, inv, stored, result, verdict.kind === "dead");
    } finally {
      clearInterval(heartbeat);
      this.#running.delete(id);
      this.#m.running.dec();
    }
  }

  /** Attempts ran out without an outcome (gateways died running it): dead-letter it without running it again. */
  async #abandon(m: JsMsg, inv: AsyncInvocation, attempts: number, stored: Stored | undefined): Promise<void> {
    const reason = `no outcome after ${attempts} attempts (the gateways running it stopped)`;
    this.#o.logger.warn({ invocation: inv.invocationId, function: inv.function, tenant: inv.tenant, attempts }, "async invocation dead-lettered");
    await this.#deadLetter(inv, reason, attempts);
    const spec = this.#o.resolveFunction(inv.function) ?? create(FunctionSpecSchema, { name: inv.function, tenant: inv.tenant });
    const traced = startSpan("gateway.async.attempt", contextFromTraceparent(inv.traceparent), { kind: SpanKind.CONSUMER, attributes: { "faas.invocation_id": inv.invocationId, "faas.async": true } });
    const result = this.#o.invoker.notRun(inv.invocationId, spec, create(FunctionErrorSchema, { type: "Abandoned", message: `gave up: ${reason}` }), true, traced);
    this.#m.attempts.inc({ function: inv.function, verdict: "dead" });
    await this.#finish(m, inv, stored, result, true);
  }

  /** Stores the final result (DONE) and acknowledges the message. */
  async #finish(m: JsMsg, inv: AsyncInvocation, stored: Stored | undefined, result: InvokeResponse, deadLettered: boolean): Promise<void> {
    // The record before the acknowledgement: once acknowledged, nothing would make it again.
    if (!(await this.#o.invoker.recorded(RECORD_WAIT_MS))) {
      this.#o.logger.warn({ invocation: inv.invocationId, function: inv.function, waitedMs: RECORD_WAIT_MS }, "trace-store has not taken the record yet; acknowledging with it still buffered");
    }
    const entry = create(AsyncEntrySchema, {
      tenant: inv.tenant,
      state: AsyncEntryState.DONE,
      attempts: stored?.entry.attempts ?? 0,
      result,
      deadLettered,
      acceptedAtUnixMs: inv.acceptedAtUnixMs,
      generation: inv.generation,
      function: inv.function,
    });
    const maxPayload = this.#o.nc.info?.max_payload;
    if (maxPayload && encodeMessage(AsyncEntrySchema, entry).length + MESSAGE_OVERHEAD_BYTES > maxPayload) {
      // The function ran; its output cannot be kept. The caller learns why instead of waiting forever.
      entry.result = create(InvokeResponseSchema, {
        ...result,
        status: InvocationStatus.PLATFORM_ERROR,
        output: new Uint8Array(),
        error: create(FunctionErrorSchema, { type: "ResultTooLarge", message: `the result is ${result.output.length} bytes; async results must stay under NATS's max_payload of ${maxPayload} bytes` }),
      });
    }
    const outcome = await this.#store(inv.invocationId, entry, stored, inv.generation);
    if (outcome === "gave-up") return; // not acknowledged: delivered again once NATS is back
    m.ack();
  }

  /**
   * Writes the entry over the one this worker holds (compare-and-set), retrying while NATS is unreachable.
   * "superseded": another worker finished it, or a replay started a newer generation (ours is dropped).
   */
  async #store(id: string, entry: AsyncEntry, held: Stored | undefined, generation: number): Promise<"stored" | "superseded" | "gave-up"> {
    let revision = held?.revision;
    for (let failures = 0; ; ) {
      try {
        const bytes = encodeMessage(AsyncEntrySchema, entry);
        await (revision === undefined ? this.#kv.create(id, bytes) : this.#kv.update(id, bytes, revision));
        return "stored";
      } catch (err) {
        if (isConflict(err)) {
          const now = await this.#read(id).catch(() => undefined);
          if (now && now !== "deleted" && (now.entry.generation > generation || now.entry.state === AsyncEntryState.DONE)) return "superseded";
          // Our lease lapsed and someone claimed it meanwhile (or it expired): our outcome stands.
          revision = now && now !== "deleted" ? now.revision : undefined;
          continue;
        }
        if (Date.now() > this.#giveUpAt) {
          this.#o.logger.error({ invocation: id, err: (err as Error).message }, "could not store an async result before stopping; it will run again");
          return "gave-up";
        }
        if (failures++ % 10 === 0) this.#o.logger.warn({ invocation: id, err: (err as Error).message }, "storing an async result failed; retrying");
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  async #deadLetter(inv: AsyncInvocation, reason: string, attempts: number): Promise<void> {
    const data = encodeMessage(DeadLetterSchema, create(DeadLetterSchema, { invocation: inv, reason, attempts, deadAtUnixMs: BigInt(Date.now()) }));
    for (let failures = 0; ; ) {
      try {
        // De-duplicated per generation: a dead letter published twice (a crash before the ack) is kept once.
        await this.#js.publish(deadLetterSubject(inv.invocationId), data, { msgID: `${inv.invocationId}:${inv.generation}` });
        this.#m.dead.inc();
        return;
      } catch (err) {
        if (Date.now() > this.#giveUpAt) throw err;
        if (failures++ % 10 === 0) this.#o.logger.warn({ invocation: inv.invocationId, err: (err as Error).message }, "storing a dead letter failed; retrying");
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  async #purgeDeadLetter(id: string): Promise<void> {
    await this.#jsm.streams.purge(DEAD_LETTER_STREAM, { filter: deadLetterSubject(id) }).catch((err) => {
      this.#o.logger.warn({ invocation: id, err: (err as Error).message }, "removing a replayed dead letter failed; it stays listed until it expires");
    });
  }

  // ---- state ----

  /** The entry and its revision; "deleted" for a tombstone (an acceptance withdrawn); undefined when none. */
  async #read(id: string): Promise<Stored | "deleted" | undefined> {
    const e = await this.#kv.get(id);
    if (!e) return undefined;
    if (e.operation !== "PUT") return "deleted";
    const entry = decodeOr(AsyncEntrySchema, e.value);
    return entry ? { entry, revision: e.revision } : undefined;
  }

  async #lookup(id: string, tenant: string): Promise<AsyncLookup> {
    const s = await this.#read(id);
    if (!s || s === "deleted" || s.entry.tenant !== tenant) return undefined;
    if (s.entry.state === AsyncEntryState.DONE && s.entry.result) return { state: "done", result: s.entry.result };
    return { state: "pending" };
  }

  #waiter(id: string): { wait(ms: number, signal: AbortSignal): Promise<void>; cancel(): void } {
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.#waiters.get(id);
    if (!set) this.#waiters.set(id, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      set.delete(wake);
      if (set.size === 0 && this.#waiters.get(id) === set) this.#waiters.delete(id);
    };
    return {
      cancel,
      wait: async (ms, signal) => {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = () => wake();
        signal.addEventListener("abort", onAbort);
        try {
          await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          cancel();
        }
      },
    };
  }

  /** One watcher of the bucket per gateway (keys only) wakes the long-polls of the ids that changed. */
  async #watch(): Promise<void> {
    while (!this.#closed) {
      try {
        const w = await this.#kv.watch({ key: ">", include: "updates", headers_only: true });
        this.#watcher = w;
        if (this.#closed) w.stop();
        for await (const e of w) {
          const set = this.#waiters.get(e.key);
          if (set) for (const wake of [...set]) wake();
        }
      } catch (err) {
        if (!this.#closed) this.#o.logger.warn({ err: (err as Error).message }, "watching async results failed; retrying");
      }
      if (!this.#closed) await sleep(1000);
    }
  }
}

function decodeOr<D extends DescMessage>(schema: D, data: Uint8Array): MessageShape<D> | undefined {
  try {
    return decodeMessage(schema, data);
  } catch {
    return undefined;
  }
}

function metricsOf(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    accepted: new Counter({ name: "faas_async_accepted_total", help: "Async invocations stored in JetStream and accepted.", registers }),
    attempts: new Counter({
      name: "faas_async_attempts_total",
      help: "Attempts of async invocations this gateway ran, by function and what followed: final (a result), retry (a platform failure, tried again after a back-off), dead (dead-lettered).",
      labelNames: ["function", "verdict"] as const,
      registers,
    }),
    skipped: new Counter({
      name: "faas_async_deliveries_skipped_total",
      help: "Deliveries of async invocations not run: done (a redelivery or copy of a finished one), busy (another worker holds it), withdrawn (its acceptance failed).",
      labelNames: ["reason"] as const,
      registers,
    }),
    dead: new Counter({ name: "faas_async_dead_letters_total", help: "Async invocations dead-lettered after their attempts ran out.", registers }),
    replayed: new Counter({ name: "faas_async_replays_total", help: "Dead letters replayed by the operator.", registers }),
    running: new Gauge({ name: "faas_async_running", help: "Attempts of async invocations running in this gateway.", registers }),
  };
}
