// One worker host: the functions prepared here, the pool of their containers, and the invocation path
// from a request to the sidecar and back. Adopts or removes its labelled containers after a restart.
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "../../common/logger.js";
import { contextFromTraceparent, inSpan, nowMs, recordSpan, withContext, type Context } from "../../common/trace-context.js";
import type { Clock } from "../../common/clock.js";
import {
  FunctionErrorSchema,
  InvocationOutcomeSchema,
  InvocationStatus,
  StartKind,
  TimingsSchema,
  type FunctionCode,
  type FunctionRef,
  type FunctionSpec,
  type InvocationOutcome,
} from "../../gen/faas/common/v1/common_pb.js";
import { InvokeRequestSchema, type BatchMember, type InvokeBatchRequest, type InvokeRequest } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { inCompletionOrder } from "../../common/completion-order.js";
import { SidecarRole } from "../../gen/faas/sidecar/v1/sidecar_pb.js";
import type { CatalogEntry, FunctionCatalog } from "./function-catalog.js";
import { LABELS } from "./labels.js";
import { NoCapacityError, StartFailedError, type ContainerPool, type Lease, type RunnableFunction, type RunRequestInit } from "./pool.js";
import type { SandboxRuntime } from "./sandbox/runtime.js";


/** The span of the start an acquire waited for, by start kind. */
const START_SPANS: Partial<Record<StartKind, string>> = {
  [StartKind.COLD]: "container.create",
  [StartKind.HELPER]: "zygote.fork",
  [StartKind.PREWARM]: "prewarm.claim",
};

export interface NodeOptions {
  readonly nodeId: string;
  readonly catalog: FunctionCatalog;
  readonly pool: ContainerPool;
  readonly runtime: SandboxRuntime;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly capacityWaitMs: number;
  readonly startTimeoutMs: number;
  /** ALLOW_HOST_NETWORK: functions asking for the host's network may be prepared here. */
  readonly allowHostNetwork?: boolean;
  /** CONTAINER_NON_ROOT: containers run as the function user with no capability, and are never shared. */
  readonly nonRoot?: boolean;
  /** CONTAINER_CPUS_PER_WORKER: a container's CPU limit is this times its function's workers. */
  readonly cpusPerWorker?: number;
}

export class Node {
  constructor(private readonly o: NodeOptions) {}

  async prepare(spec: FunctionSpec, code: FunctionCode): Promise<{ image: string; buildUs: bigint }> {
    // The gateway refuses these already unless its operator allowed them; the node that would run the
    // container has the last word.
    if (spec.hostNetwork && !this.o.allowHostNetwork) {
      throw new ConnectError(`function ${spec.name} asks for the host's network, which node ${this.o.nodeId} does not allow (ALLOW_HOST_NETWORK)`, Code.FailedPrecondition);
    }
    const r = await this.o.catalog.prepare(spec, code);
    // The network is not in the digest (it is not in the image): its containers must go when it changes.
    if (r.previous && (r.previous.spec.digest !== spec.digest || r.previous.spec.hostNetwork !== spec.hostNetwork)) {
      this.o.pool.retire(spec.name, spec.digest, "new version deployed");
    }
    return { image: r.entry.image, buildUs: r.buildUs };
  }

  async remove(name: string): Promise<number> {
    const n = this.o.pool.retire(name, undefined, "function removed");
    await this.o.catalog.remove(name);
    return n;
  }

  /**
   * One batch piece: every member is invoked at once (the pool fills the busiest container first, up to
   * the packing degree in the ref's limits); outcomes come in completion order with the batch's id and
   * size. An unknown function fails the whole piece before anything runs; after that a member fails alone.
   */
  invokeBatch(req: InvokeBatchRequest): AsyncGenerator<InvocationOutcome> {
    const ref = req.function;
    if (!ref) throw new ConnectError("function is required", Code.InvalidArgument);
    this.runnable(ref);
    const member = async (m: BatchMember): Promise<InvocationOutcome> => {
      let outcome: InvocationOutcome;
      try {
        outcome = await this.invoke(create(InvokeRequestSchema, { invocationId: m.invocationId, function: ref, payload: m.payload, traceparent: m.traceparent }));
      } catch (err) {
        const e = ConnectError.from(err);
        outcome = create(InvocationOutcomeSchema, {
          invocationId: m.invocationId,
          nodeId: this.o.nodeId,
          status: InvocationStatus.PLATFORM_ERROR,
          error: create(FunctionErrorSchema, { type: Code[e.code], message: e.rawMessage }),
        });
      }
      outcome.batchId = req.batchId;
      outcome.batchSize = req.batchSize;
      return outcome;
    };
    return inCompletionOrder(req.members.map(member));
  }

  /**
   * One invocation (alone, or a member of a batch piece). node-manager's span in its trace is the acquire
   * (its start kind, and the start it waited for); the call into the container has none of its own: the
   * sidecar's spans are children of the balancer's route span, as the acquire is, and the gaps around
   * them in the route span are the hops. A server span around the whole call was one of a recorded warm
   * invocation's five or six spans and said nothing the route span does not (bench/tracing.ts).
   */
  invoke(req: InvokeRequest): Promise<InvocationOutcome> {
    const ref = req.function;
    if (!ref) throw new ConnectError("function is required", Code.InvalidArgument);
    return this.#invoke(req, ref, this.runnable(ref), contextFromTraceparent(req.traceparent));
  }

  async #invoke(req: InvokeRequest, ref: FunctionRef, fn: RunnableFunction, ctx: Context): Promise<InvocationOutcome> {
    const outcome = create(InvocationOutcomeSchema, { invocationId: req.invocationId, nodeId: this.o.nodeId });
    const timeoutMs = ref.limits?.timeoutMs ?? 60_000;
    // A lent zygote's fork runs the invocation itself: its spans, too, are children of the caller's.
    const run = { invocationId: req.invocationId, payload: req.payload, timeoutMs, traceparent: req.traceparent };
    let lease: Lease;
    try {
      lease = await this.#acquire(fn, run, ctx);
    } catch (err) {
      outcome.status = InvocationStatus.PLATFORM_ERROR;
      const type = err instanceof NoCapacityError ? "NoCapacity" : err instanceof StartFailedError ? "StartFailed" : "Internal";
      outcome.error = create(FunctionErrorSchema, { type, message: (err as Error).message });
      return outcome;
    }
    outcome.startKind = lease.startKind;
    outcome.containerId = lease.container.id;
    try {
      // A lent container's fork may have run it already.
      const r =
        lease.result ??
        (await lease.channel.client.run(
          run,
          // The sidecar enforces the function's timeout, on waiting for a slot and on running alike (so up
          // to twice it); this bound only catches a sidecar that stopped answering.
          { timeoutMs: 2 * timeoutMs + this.o.startTimeoutMs },
        ));
      // The answer goes out first: what the release sets off (state events, the next queued start) can wait a turn.
      setImmediate(() => this.o.pool.release(lease.container));
      outcome.status = r.status;
      outcome.output = r.output;
      outcome.error = r.error;
      outcome.timings = create(TimingsSchema, { queuedUs: lease.queuedUs, startupUs: lease.startupUs, initUs: r.initUs, execUs: r.execUs });
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.InvalidArgument) {
        this.o.pool.release(lease.container);
        throw e;
      }
      this.o.pool.release(lease.container, true);
      withContext(ctx, () => this.o.logger.warn({ container: lease.container.id, invocation: req.invocationId, err: e.message }, "sidecar call failed; container removed"));
      outcome.status = InvocationStatus.PLATFORM_ERROR;
      outcome.error = create(FunctionErrorSchema, { type: "ContainerFailed", message: `container ${lease.container.id} failed: ${e.rawMessage}` });
      outcome.timings = create(TimingsSchema, { queuedUs: lease.queuedUs, startupUs: lease.startupUs });
    }
    return outcome;
  }

  /**
   * The pool's acquire in a node-manager.acquire span (attributes: the start kind, the node, the
   * container), with a child for the start it waited for: container.create (COLD), zygote.fork (HELPER)
   * or prewarm.claim (PREWARM). The container events the pool publishes on the acquire's synchronous path
   * (a warm container taken) carry this span's context.
   */
  #acquire(fn: RunnableFunction, run: RunRequestInit, parent: Context): Promise<Lease> {
    return inSpan("node-manager.acquire", parent, {}, async (span, ctx) => {
      const lease = await this.o.pool.acquire(fn, this.o.clock.now() + this.o.capacityWaitMs, run);
      const kind = lease.startKind;
      if (span.isRecording()) {
        span.setAttributes({ "faas.function": fn.name, "faas.node": this.o.nodeId, "faas.start_kind": StartKind[kind], "faas.coldstart": kind === StartKind.COLD, "faas.container": lease.container.id });
        const phase = START_SPANS[kind];
        const end = nowMs();
        if (phase && lease.startupUs > 0n) recordSpan(phase, ctx, end - Number(lease.startupUs) / 1000, end, { "faas.container": lease.container.id });
      }
      if (this.o.logger.isLevelEnabled("debug")) withContext(ctx, () => this.o.logger.debug({ invocation: run.invocationId, function: fn.name, container: lease.container.id, startKind: StartKind[kind] }, "container acquired"));
      return lease;
    });
  }

  /** After a restart: learn the prepared functions from image labels, adopt live containers, remove the rest. */
  async reconcile(): Promise<{ adopted: number; removed: number }> {
    await this.o.catalog.reconcileFromImages();
    let adopted = 0;
    let removed = 0;
    for (const sb of await this.o.runtime.list({ [LABELS.node]: this.o.nodeId })) {
      const prepared = this.o.catalog.get(sb.labels[LABELS.function] ?? "");
      const key = sb.labels[LABELS.container];
      let healthy = false;
      if (sb.running && prepared && key && prepared.spec.digest === sb.labels[LABELS.digest]) {
        try {
          const stats = await this.o.runtime.channel(sb).client.stats({}, { timeoutMs: 2000 });
          // Only a container still running its image's function is adopted; zygotes, helpers (their
          // function is not the one of the labels) and stem cells are removed.
          healthy = stats.role !== SidecarRole.ZYGOTE && stats.function === prepared.spec.name;
          if (!healthy) this.o.runtime.channel(sb).close();
        } catch {
          this.o.runtime.channel(sb).close();
        }
      }
      if (healthy) {
        this.o.pool.adopt(sb, key!, this.runnable({ name: prepared!.spec.name, digest: prepared!.spec.digest } as FunctionRef), this.o.clock.now());
        adopted++;
      } else {
        await this.o.runtime.destroy(sb.id);
        removed++;
      }
    }
    this.o.logger.info({ adopted, removed, functions: this.o.catalog.all().length }, "reconciled with Docker");
    return { adopted, removed };
  }

  private runnable(ref: FunctionRef): RunnableFunction {
    const prepared = this.o.catalog.get(ref.name);
    if (!prepared) throw new ConnectError(`function ${ref.name} is not prepared on node ${this.o.nodeId}`, Code.NotFound);
    const spec = prepared.spec;
    if (ref.digest && ref.digest !== spec.digest) {
      throw new ConnectError(`function ${ref.name} version ${ref.digest} is not prepared on node ${this.o.nodeId} (it has ${spec.digest})`, Code.FailedPrecondition);
    }
    const memoryMb = ref.limits?.memoryMb || spec.limits?.memoryMb || 256;
    const timeoutMs = ref.limits?.timeoutMs || spec.limits?.timeoutMs || 60_000;
    const maxConcurrency = ref.limits?.maxConcurrency || spec.limits?.maxConcurrency || 1;
    const workers = ref.limits?.workers || spec.limits?.workers || 1;
    // A host-network container is never lent (its zygote would carry the network to another function), so
    // neither does such a function borrow a zygote or stem cell (those have no network): no claim. Nor does
    // a function in non-root containers (a zygote's fork would share its uid with the lender's).
    const hostNetwork = spec.hostNetwork && this.o.allowHostNetwork === true;
    const nonRoot = this.o.nonRoot === true;
    const cached = this.runnables.get(spec.name);
    if (cached && cached.prepared === prepared && cached.memoryMb === memoryMb && cached.timeoutMs === timeoutMs && cached.maxConcurrency === maxConcurrency && cached.workers === workers) return cached.fn;
    const fn: RunnableFunction = {
      name: spec.name,
      digest: spec.digest,
      tenant: spec.tenant,
      memoryMb,
      maxConcurrency,
      dependencies: new Map(Object.entries(spec.dependencies)),
      packages: new Map(Object.entries(prepared.packages)),
      zygoteSet: prepared.setId && prepared.setImage ? { id: prepared.setId, image: prepared.setImage } : undefined,
      claim: hostNetwork || nonRoot || !prepared.codeDirs ? undefined : {
        entry: spec.entry || "index.js",
        env: spec.env,
        timeoutMs,
        workers,
        codeDir: prepared.codeDirs.code,
        fullCodeDir: prepared.codeDirs.full,
      },
      sandboxSpec: {
        image: prepared.image,
        memoryMb,
        cpus: (this.o.cpusPerWorker ?? 1) * workers,
        hostNetwork,
        nonRoot,
        labels: { [LABELS.node]: this.o.nodeId, [LABELS.function]: spec.name, [LABELS.digest]: spec.digest },
        env: {
          FAAS_FUNCTION_NAME: spec.name,
          FAAS_CODE_DIR: "/fn",
          FAAS_ENTRY: spec.entry || "index.js",
          FAAS_TIMEOUT_MS: String(timeoutMs),
          FAAS_MEMORY_MB: String(memoryMb),
          FAAS_MAX_CONCURRENCY: String(maxConcurrency),
          FAAS_WORKERS: String(workers),
          FAAS_FUNCTION_ENV: JSON.stringify(spec.env),
        },
      },
    };
    this.runnables.set(spec.name, { prepared, memoryMb, timeoutMs, maxConcurrency, workers, fn });
    return fn;
  }

  /** The last RunnableFunction built per function: the hot path does not rebuild maps and specs per call. */
  private readonly runnables = new Map<string, { prepared: CatalogEntry; memoryMb: number; timeoutMs: number; maxConcurrency: number; workers: number; fn: RunnableFunction }>();

  /** For ListContainers. */
  get nodeId(): string {
    return this.o.nodeId;
  }
}
