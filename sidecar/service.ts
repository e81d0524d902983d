// SidecarService: the gRPC surface node-manager calls over the container's Unix socket.
import { bind, type ServiceBinding } from "../common/server.js";
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { stopwatch } from "../common/clock.js";
import { inCompletionOrder } from "../common/completion-order.js";
import { SidecarService, type ForkRequest, type LoadFunctionRequest, type RunResponseSchema } from "../gen/faas/sidecar/v1/sidecar_pb.js";
import type { FunctionLoad } from "./function-load.js";
import { readRssBytes } from "./proc-rss.js";
import { ForkFailedError, WrongRoleError, type RoleSwitch } from "./role-switch.js";
import type { RunOutcome } from "./run-outcome.js";
import { StoppingError, type RunInput } from "./supervisor.js";
import { TemplateUnavailableError } from "./template-keeper.js";

type RunResponseInit = MessageInitShape<typeof RunResponseSchema>;

const DEFAULT_LIMITS = { memoryMb: 256, timeoutMs: 60_000, maxConcurrency: 1, workers: 1 };

function toResponse(invocationId: string, o: RunOutcome): RunResponseInit {
  return { invocationId, status: o.status, output: o.output, error: o.error, execUs: BigInt(o.execUs), initUs: BigInt(o.initUs) };
}

/** The sidecar's own errors as the codes callers act on; anything else stays an internal error. */
function asConnectError(err: unknown): never {
  if (err instanceof StoppingError || err instanceof TemplateUnavailableError) throw new ConnectError(err.message, Code.Unavailable);
  if (err instanceof WrongRoleError || err instanceof ForkFailedError) throw new ConnectError(err.message, Code.FailedPrecondition);
  throw err;
}

/** Calls f, turning a synchronous throw (a zygote asked to run) into the same codes. */
function mapped<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    asConnectError(err);
  }
}

/** The load a LoadFunctionRequest asks for. Empty fields of the configured function mean "as now". */
function requestedLoad(req: LoadFunctionRequest, current: FunctionLoad): FunctionLoad {
  const same = req.function === current.functionName;
  const limits = req.limits;
  const base = same ? current : { ...DEFAULT_LIMITS, codeDir: current.codeDir, entry: "index.js", env: {} };
  return {
    functionName: req.function,
    codeDir: req.codeDir || base.codeDir,
    entry: req.entry || base.entry,
    env: Object.keys(req.env).length > 0 || !same ? { ...req.env } : base.env,
    memoryMb: limits?.memoryMb || base.memoryMb,
    timeoutMs: limits?.timeoutMs || base.timeoutMs,
    maxConcurrency: limits?.maxConcurrency || base.maxConcurrency,
    workers: limits?.workers || base.workers,
  };
}

/** A load names a directory node-manager put in the container; a missing one is the caller's mistake. */
function requireCodeDir(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ConnectError(`code directory ${dir} does not exist in the container`, Code.FailedPrecondition);
  }
}

/** The load a ForkRequest asks for: a function new to this container, so unset limits take the platform's defaults. */
function forkLoad(req: ForkRequest): FunctionLoad {
  if (!req.function) throw new ConnectError("function is required", Code.InvalidArgument);
  if (!req.codeDir) throw new ConnectError("code_dir is required", Code.InvalidArgument);
  requireCodeDir(req.codeDir);
  const limits = req.limits;
  return {
    functionName: req.function,
    codeDir: req.codeDir,
    entry: req.entry || "index.js",
    env: { ...req.env },
    memoryMb: limits?.memoryMb || DEFAULT_LIMITS.memoryMb,
    timeoutMs: limits?.timeoutMs || DEFAULT_LIMITS.timeoutMs,
    maxConcurrency: limits?.maxConcurrency || DEFAULT_LIMITS.maxConcurrency,
    workers: limits?.workers || DEFAULT_LIMITS.workers,
  };
}

export interface SidecarServiceOptions {
  readonly roles: RoleSwitch;
  /** The container's package set, "name@version" sorted, for Stats. */
  readonly packages: readonly string[];
}

export function sidecarService({ roles, packages }: SidecarServiceOptions): ServiceBinding {
  const uptime = stopwatch();
  const templates = () => roles.templates.template;

  const run = (req: RunInput): Promise<RunResponseInit> =>
    mapped(() => roles.serving())
      .run(req)
      .then((o) => toResponse(req.invocationId, o), asConnectError);

  return bind(SidecarService, {
      run(req) {
        if (!req.invocationId) throw new ConnectError("invocation_id is required", Code.InvalidArgument);
        return run(req);
      },

      async *runBatch(req) {
        req.runs.forEach((r, i) => {
          if (!r.invocationId) throw new ConnectError(`runs[${i}].invocation_id is required`, Code.InvalidArgument);
        });
        mapped(() => roles.serving());
        // Every member starts now; each result is streamed the moment it is done, in completion order.
        for await (const result of inCompletionOrder(req.runs.map((r) => run(r)))) yield { result };
      },

      async loadFunction(req) {
        if (!req.function) throw new ConnectError("function is required", Code.InvalidArgument);
        const supervisor = mapped(() => roles.serving());
        const load = requestedLoad(req, supervisor.load);
        requireCodeDir(load.codeDir);
        const { result, initUs, pid } = await supervisor.loadFunction(load).catch(asConnectError);
        if (!result.ok) throw new ConnectError(`function ${load.functionName} failed to load: ${result.error.message}`, Code.FailedPrecondition);
        return { initUs: BigInt(initUs), workerPid: pid };
      },

      async becomeZygote(req) {
        const r = await roles.becomeZygote(req.reason).catch(asConnectError);
        return { templatePid: r.templatePid, templateReadyUs: BigInt(r.templateReadyUs), workersEnded: r.workersEnded };
      },

      async fork(req) {
        // fork_us counts from here: the wait for the template, the hand-over and the import.
        const receivedAt = performance.now();
        const first = req.firstRun;
        if (first && !first.invocationId) throw new ConnectError("first_run.invocation_id is required", Code.InvalidArgument);
        const load = forkLoad(req);
        const r = await roles.fork(load, receivedAt).catch(asConnectError);
        const forked = { workerPid: r.workerPid, forkUs: BigInt(r.forkUs), initUs: BigInt(r.initUs) };
        if (!first) return forked;
        const ranAt = performance.now();
        const firstResult = await run(first);
        return { ...forked, firstResult, firstRunUs: BigInt(Math.round((performance.now() - ranAt) * 1000)) };
      },

      async stats() {
        const supervisor = roles.supervisor;
        const w = supervisor?.worker;
        const all = supervisor?.workers ?? [];
        const t = templates();
        const [templateRss, ...workerRss] = await Promise.all([t ? readRssBytes(t.pid) : 0n, ...all.map((x) => readRssBytes(x.pid))]);
        const workers = all.map((x, i) => ({ pid: x.pid, function: x.load.functionName, rssBytes: workerRss[i], inflight: x.inflight, invocations: BigInt(x.invocations) }));
        return {
          function: supervisor?.load.functionName ?? "",
          loaded: w?.dispatchable ?? false,
          workers,
          sidecarRssBytes: BigInt(process.memoryUsage.rss()),
          uptimeUs: uptime(),
          inflight: supervisor?.inflight ?? 0,
          role: roles.role,
          templatePid: t?.pid ?? 0,
          templateRssBytes: templateRss,
          packages: [...packages],
        };
      },
    });
}
