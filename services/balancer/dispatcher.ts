// The balancer's per-function dispatch queues, applied: an invocation is offered to its function's queue
// (RESOURCE_EXHAUSTED when the queue is full), and when a batch is due it is cut into pieces of the
// packing degree, each piece routed to a node and sent as one InvokeBatch, whose outcomes stream back
// and answer their invocations one by one, the moment each ends. The queue's decisions are in
// dispatch/; this module owns the timers and the calls.
import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../../common/clock.js";
import { newInvocationId } from "../../common/ids.js";
import type { Logger } from "../../common/logger.js";
import { setOutcomeStatus } from "../../common/outcome-span.js";
import { failSpan, nowMs, recordSpan, ROOT_CONTEXT, SpanKind, startSpan, traceparentOf, withContext, type Context, type Span } from "../../common/trace-context.js";
import { InvocationOutcomeSchema, InvocationStatus, LimitsSchema, StartKind, type FunctionRef, type InvocationOutcome } from "../../gen/faas/common/v1/common_pb.js";
import type { InvokeRequest } from "../../gen/faas/balancer/v1/balancer_pb.js";
import type { ClusterView } from "./cluster-view.js";
import { dispatchSetup, type BatchingInputs, type BatchingPolicyName } from "./dispatch/batching-policy.js";
import { DispatchQueue, QueueFullError, type Batch } from "./dispatch/dispatch-queue.js";
import { groupIdenticalPayloads } from "./dispatch/identical-payloads.js";
import type { PackingModel } from "./packing/packing-model.js";
import type { PackingSettings } from "./packing/planner.js";
import type { FunctionCatalog } from "./function-catalog.js";
import type { BalancerMetrics } from "./metrics.js";
import type { NodeClients } from "./node-clients.js";
import { fromNode, place } from "./placement.js";

interface Member {
  readonly req: InvokeRequest;
  /** The balancer's span of the invocation, and when it joined the queue (for its balancer.queue span). */
  readonly trace: Context;
  readonly enqueuedMs: number;
  readonly resolve: (outcome: InvocationOutcome) => void;
  readonly reject: (err: Error) => void;
}

interface FunctionDispatch {
  readonly fn: FunctionRef;
  readonly queue: DispatchQueue<Member>;
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  timerAt: number;
  /**
   * The function's pieces in flight at most, over all its batches: the instances the planner's CPU model
   * asks for at the degree (the rest wait for a piece to end and take its warm container); undefined: no bound.
   */
  instances: number | undefined;
  piecesInFlight: number;
  /** Members sent in pieces not yet ended (in flight or waiting for a slot): the backlog beyond the queue. */
  membersOutstanding: number;
  /** Pieces waiting for one in flight to end, oldest first. */
  readonly waitingPieces: Array<() => void>;
}

export interface DispatcherOptions {
  readonly policy: BatchingPolicyName;
  /** Everything the policies need but the function's own limits and measurements. */
  readonly inputs: Omit<BatchingInputs, "containerConcurrency" | "meanDurationMs">;
  readonly clock: Clock;
  readonly view: ClusterView;
  readonly functions: FunctionCatalog;
  readonly nodes: NodeClients;
  readonly logger: Logger;
  readonly metrics?: BalancerMetrics;
  /** faasbatch without a fixed degree: the planner picks each batch's degree from this model. */
  readonly packing?: { readonly model: PackingModel; readonly settings: Partial<PackingSettings> };
}

/** Weight of a new execution time in a function's mean (kraken's batch size). */
const MEAN_ALPHA = 0.2;

export class Dispatcher {
  readonly #queues = new Map<string, FunctionDispatch>();
  /** Mean execution time per function, ms (an exponentially weighted mean of the outcomes seen). */
  readonly #meanMs = new Map<string, number>();

  constructor(private readonly o: DispatcherOptions) {}

  /** Resolves with the invocation's outcome; RESOURCE_EXHAUSTED at once when its function's queue is full. */
  invoke(req: InvokeRequest, trace: Context = ROOT_CONTEXT): Promise<InvocationOutcome> {
    const fn = req.function!;
    // The window is the function's to change without a new version: it is part of the queue's identity.
    const key = `${fn.name}@${fn.digest}@${fn.batchWindowMs}`;
    const d = this.#queues.get(key) ?? this.#open(key, fn);
    return new Promise<InvocationOutcome>((resolve, reject) => {
      try {
        d.queue.offer({ req, trace, enqueuedMs: nowMs(), resolve, reject }, this.o.clock.now());
      } catch (err) {
        if (err instanceof QueueFullError) {
          this.o.metrics?.refused(fn.name);
          throw new ConnectError(`function ${fn.name}: ${err.message}`, Code.ResourceExhausted);
        }
        throw err;
      }
      this.#schedule(d);
    });
  }

  /** Invocations waiting per function (summed over its versions), for the metrics. */
  queueDepths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const d of this.#queues.values()) out.set(d.fn.name, (out.get(d.fn.name) ?? 0) + d.queue.length);
    return out;
  }

  /** Answers everything still queued (sends it now); for a stopping balancer. */
  async drain(): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const d of this.#queues.values()) {
      this.#clearTimer(d);
      for (const b of d.queue.drain(this.o.clock.now())) sends.push(this.#send(d, b));
    }
    await Promise.all(sends);
  }

  #open(key: string, fn: FunctionRef): FunctionDispatch {
    const setup = this.#setup(fn);
    const d: FunctionDispatch = { fn, queue: new DispatchQueue<Member>(setup.window, setup.limits), timer: undefined, timerAt: 0, instances: this.o.policy === "faasbatch" ? this.o.inputs.packingInstances : undefined, piecesInFlight: 0, membersOutstanding: 0, waitingPieces: [] };
    this.#queues.set(key, d);
    this.o.logger.info({ function: fn.name, policy: this.o.policy, ...setup.limits, windowMs: setup.window.currentMs }, "dispatch queue opened");
    return d;
  }

  /** The policy's setup for fn; the function's own window, when it declares one, replaces the balancer's. */
  #setup(fn: FunctionRef) {
    const own = fn.batchWindowMs;
    const inputs = own ? { ...this.o.inputs, windowMs: own, adaptive: { ...this.o.inputs.adaptive, maxMs: Math.max(own, this.o.inputs.adaptive.stepMs) } } : this.o.inputs;
    return dispatchSetup(this.o.policy, { ...inputs, containerConcurrency: fn.limits?.maxConcurrency || 1, meanDurationMs: this.#meanMs.get(fn.name) });
  }

  /** One timer per queue, at its next due time; a batch due now goes in the next turn, with what else arrives in this one. */
  #schedule(d: FunctionDispatch): void {
    const due = d.queue.nextDueAt();
    if (due === undefined) return;
    if (d.timer !== undefined && d.timerAt <= due) return;
    this.#clearTimer(d);
    const delay = due - this.o.clock.now();
    d.timerAt = due;
    const fire = () => {
      d.timer = undefined;
      this.#flush(d);
    };
    d.timer = delay <= 0 ? setImmediate(fire) : setTimeout(fire, delay);
  }

  #clearTimer(d: FunctionDispatch): void {
    if (d.timer === undefined) return;
    clearTimeout(d.timer as NodeJS.Timeout);
    clearImmediate(d.timer as NodeJS.Immediate);
    d.timer = undefined;
  }

  #flush(d: FunctionDispatch): void {
    if (this.o.policy === "kraken") d.queue.setLimits(this.#setup(d.fn).limits);
    if (this.o.policy === "faasbatch" && this.o.packing) this.#planDegree(d);
    for (const batch of d.queue.take(this.o.clock.now())) void this.#send(d, batch);
    this.#schedule(d);
  }

  /** Each piece of the batch to a node as one InvokeBatch; its members are answered as their outcomes stream in. */
  async #send(d: FunctionDispatch, batch: Batch<Member>): Promise<void> {
    const batchId = newInvocationId();
    this.o.metrics?.batchSent(d.fn.name, batch.members.length);
    // Infinity (window-only): the whole batch is one piece, and its container must take any batch whole:
    // no batch outgrows the queue's bound.
    const { perContainer, maxQueued } = d.queue.limits;
    const degree = Number.isFinite(perContainer) ? perContainer : maxQueued;
    d.membersOutstanding += batch.members.length;
    const served = await Promise.all(
      batch.pieces.map(async (piece) => {
        await this.#pieceSlot(d);
        try {
          return await this.#sendPiece(batchId, batch.members.length, piece, degree);
        } finally {
          d.membersOutstanding -= piece.length;
          this.#pieceDone(d);
        }
      }),
    );
    // How many containers the node gave the batch's pieces: the cap on instances the planner plans within.
    const containers = new Set(served.flat());
    if (containers.size > 0) this.o.packing?.model.observeInstances(batch.pieces.length, containers.size);
  }

  /** Resolves when the function has room for one more piece in flight (FIFO among the waiting). */
  #pieceSlot(d: FunctionDispatch): Promise<void> {
    if (hasPieceRoom(d)) {
      d.piecesInFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => d.waitingPieces.push(resolve));
  }

  /** A piece ended: its slot goes to the oldest waiting piece, or is freed. */
  #pieceDone(d: FunctionDispatch): void {
    const next = d.waitingPieces.shift();
    if (next) next();
    else d.piecesInFlight--;
  }

  /** Lets waiting pieces go while the bound (changed, or lifted) leaves room. */
  #admitWaiting(d: FunctionDispatch): void {
    while (d.waitingPieces.length > 0 && hasPieceRoom(d)) {
      d.piecesInFlight++;
      d.waitingPieces.shift()!();
    }
  }

  /** Sends one piece and answers its members; resolves with the containers that served them. */
  async #sendPiece(batchId: string, batchSize: number, piece: readonly Member[], degree: number): Promise<string[]> {
    const fn = piece[0].req.function!;
    // The pieces' containers run up to the packing degree at once (vanilla: 1).
    const ref = { ...fn, limits: create(LimitsSchema, { memoryMb: fn.limits?.memoryMb, timeoutMs: fn.limits?.timeoutMs, maxConcurrency: Math.max(1, degree), workers: fn.limits?.workers }) };
    // A pure function's identical payloads run once; their copies are answered with the run's outcome.
    const { runs, copiesOf } = fn.pure ? groupIdenticalPayloads(piece, (m) => m.req.payload) : { runs: piece, copiesOf: new Map<Member, Member[]>() };
    const waiting = new Map(runs.map((m) => [m.req.invocationId, m]));
    const spans = new MemberSpans(batchId, batchSize, degree);
    const answer = (m: Member, outcome: InvocationOutcome) => {
      spans.end(m, undefined, outcome);
      m.resolve(outcome);
      for (const c of copiesOf.get(m) ?? []) {
        const copy = clone(InvocationOutcomeSchema, outcome);
        copy.invocationId = c.req.invocationId;
        c.resolve(copy);
      }
    };
    const fail = (m: Member, err: Error) => {
      spans.end(m, err);
      m.reject(err);
      for (const c of copiesOf.get(m) ?? []) c.reject(err);
    };
    const seen: InvocationOutcome[] = [];
    let done: (() => void) | undefined;
    try {
      const placement = place(this.o.view, this.o.functions, fn, ref.limits.maxConcurrency);
      done = placement.done;
      const ran = new Set(runs);
      for (const m of piece) spans.queued(m, placement.node.nodeId, ran.has(m));
      const stream = this.o.nodes.get(placement.node.address).invokeBatch({
        batchId,
        batchSize,
        function: ref,
        members: runs.map((m) => ({ invocationId: m.req.invocationId, payload: m.req.payload, traceparent: spans.route(m, placement.node.nodeId) })),
      });
      if (this.o.logger.isLevelEnabled("debug")) {
        for (const m of piece) withContext(m.trace, () => this.o.logger.debug({ invocation: m.req.invocationId, function: fn.name, batch: batchId, node: placement.node.nodeId }, "routed in a batch"));
      }
      for await (const res of stream) {
        const outcome = res.outcome;
        const m = outcome && waiting.get(outcome.invocationId);
        if (!outcome || !m) continue;
        waiting.delete(outcome.invocationId);
        seen.push(outcome);
        this.#observe(fn.name, outcome);
        answer(m, outcome);
      }
      this.#learn(fn.name, seen);
      if (waiting.size > 0) throw new ConnectError(`the node's batch stream ended without ${waiting.size} of its outcomes`, Code.Internal);
    } catch (err) {
      // A node without the function or version: the gateway re-prepares it and retries each member.
      const e = fromNode(err);
      for (const m of waiting.values()) fail(m, e);
    } finally {
      done?.();
    }
    return seen.map((o) => o.containerId).filter(Boolean);
  }

  /**
   * The planner's degree for the function's backlog (queued, and sent in pieces not yet ended: a burst is
   * cut into batches of at most maxBatchSize and flushed batch by batch, but it is the whole burst the
   * degree and the instances are for), within the function's concurrency, unless BATCH_PACKING_DEGREE
   * fixes it; and with a CPU model, the instances to send the function's pieces to at that degree.
   */
  #planDegree(d: FunctionDispatch): void {
    const m = d.queue.length + d.membersOutstanding;
    if (d.queue.length === 0) return;
    const fixed = this.o.inputs.packingDegree !== undefined;
    // A fixed degree leaves the plan only the instances to give, and there are none to give when they are
    // fixed too or no CPU model asks for them: no plan at every flush for nothing.
    if (fixed && (this.o.inputs.packingInstances !== undefined || !this.o.packing!.model.cpu)) return;
    const limits = this.o.functions.limits(d.fn.name) ?? { memoryMb: d.fn.limits?.memoryMb || 256, maxConcurrency: d.fn.limits?.maxConcurrency || 1 };
    let plan;
    try {
      const { maxBatchSize } = d.queue.limits;
      plan = this.o.packing!.model.plan(d.fn.name, m, limits.memoryMb, limits.maxConcurrency, this.o.packing!.settings, Number.isFinite(maxBatchSize) ? maxBatchSize : undefined);
    } catch (err) {
      this.o.logger.warn({ function: d.fn.name, err: (err as Error).message }, "packing plan failed; the degree stays");
      return;
    }
    if ("missing" in plan) return;
    const degree = fixed ? d.queue.limits.perContainer : plan.degree;
    const p = plan.predictions[Math.min(degree, plan.predictions.length) - 1];
    const instances = this.o.inputs.packingInstances ?? (this.o.packing!.model.cpu ? p.instances : undefined);
    if (degree !== d.queue.limits.perContainer || instances !== d.instances) {
      this.o.logger.info({ function: d.fn.name, invocations: m, degree, instances, fixed, objective: plan.objective, metric: plan.metric, predictedS: p.timeS, predictedUsd: p.costUsd }, "packing degree chosen");
    }
    d.instances = instances;
    this.#admitWaiting(d);
    d.queue.setLimits({ ...d.queue.limits, perContainer: degree });
  }

  /** What a finished piece shows: E(d) per container that ran d of its members, S(n) for the n it started COLD. */
  #learn(name: string, outcomes: readonly InvocationOutcome[]): void {
    const model = this.o.packing?.model;
    if (!model || outcomes.length === 0) return;
    // Per container: how many members it ran and the slowest one's execution.
    const served = new Map<string, { members: number; slowestUs: number }>();
    const cold = new Set<string>();
    let slowestStartUs = 0;
    for (const o of outcomes) {
      if (o.status !== InvocationStatus.OK && o.status !== InvocationStatus.FUNCTION_ERROR) continue;
      const s = served.get(o.containerId) ?? { members: 0, slowestUs: 0 };
      served.set(o.containerId, { members: s.members + 1, slowestUs: Math.max(s.slowestUs, Number(o.timings?.execUs ?? 0n)) });
      if (o.startKind === StartKind.COLD && !cold.has(o.containerId)) {
        cold.add(o.containerId);
        slowestStartUs = Math.max(slowestStartUs, Number(o.timings?.startupUs ?? 0n));
      }
    }
    for (const s of served.values()) model.observeService(name, s.members, s.slowestUs / 1e6);
    if (cold.size > 0) model.observeScaling(cold.size, slowestStartUs / 1e6);
  }

  #observe(name: string, outcome: InvocationOutcome): void {
    const execMs = Number(outcome.timings?.execUs ?? 0n) / 1000;
    if (!(execMs > 0)) return;
    const mean = this.#meanMs.get(name);
    this.#meanMs.set(name, mean === undefined ? execMs : (1 - MEAN_ALPHA) * mean + MEAN_ALPHA * execMs);
  }
}

/**
 * The balancer's spans of one piece's members: the wait in the dispatch queue (balancer.queue, from the
 * offer to the piece's send) and the call to the node (balancer.route, until the member is answered),
 * both with the batch's id, size and packing degree.
 */
class MemberSpans {
  readonly #routes = new Map<Member, Span>();

  constructor(
    private readonly batchId: string,
    private readonly batchSize: number,
    private readonly degree: number,
  ) {}

  #attributes(node: string) {
    return { "faas.batch.id": this.batchId, "faas.batch.size": this.batchSize, "faas.packing.degree": this.degree, "faas.node": node };
  }

  /** ran: the member runs on the node (not a copy answered with an identical payload's outcome). */
  queued(m: Member, node: string, ran: boolean): void {
    recordSpan("balancer.queue", m.trace, m.enqueuedMs, nowMs(), { ...this.#attributes(node), "faas.batch.deduplicated": !ran });
  }

  /** Opens the member's route span; returns the traceparent the node continues. */
  route(m: Member, node: string): string {
    const { span, ctx } = startSpan("balancer.route", m.trace, { kind: SpanKind.CLIENT, attributes: this.#attributes(node) });
    this.#routes.set(m, span);
    return traceparentOf(ctx) || m.req.traceparent;
  }

  /** Ends the member's route span: failed by the call's error, or by an outcome that is not OK (the node's acquire and the sidecar's spans say where). */
  end(m: Member, err?: Error, outcome?: InvocationOutcome): void {
    const span = this.#routes.get(m);
    if (!span) return;
    if (err) failSpan(span, err);
    else if (outcome) setOutcomeStatus(span, outcome);
    span.end();
    this.#routes.delete(m);
  }
}

/** Whether one more of the function's pieces may go now. */
function hasPieceRoom(d: FunctionDispatch): boolean {
  return d.instances === undefined || d.piecesInFlight < d.instances;
}
