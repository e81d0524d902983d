// SidecarService: the gRPC surface node-manager calls over the container's Unix socket.
import { bind, type ServiceBinding } from "../common/server.js";
import * as fs from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { stopwatch } from "../common/clock.js";
import { SidecarService, type LoadFunctionRequest, type RunBatchResponseSchema, type RunResponseSchema } from "../gen/faas/sidecar/v1/sidecar_pb.js";
import type { FunctionLoad } from "./function-load.js";
import { readRssBytes } from "./proc-rss.js";
import type { RunOutcome } from "./run-outcome.js";
import { StoppingError, type FunctionSupervisor, type RunInput } from "./supervisor.js";

type RunResponseInit = MessageInitShape<typeof RunResponseSchema>;

const DEFAULT_LIMITS = { memoryMb: 256, timeoutMs: 60_000, maxConcurrency: 1 };

function toResponse(invocationId: string, o: RunOutcome): RunResponseInit {
  return { invocationId, status: o.status, output: o.output, error: o.error, execUs: BigInt(o.execUs), initUs: BigInt(o.initUs) };
}

function unavailableIfStopping(err: unknown): never {
  if (err instanceof StoppingError) throw new ConnectError(err.message, Code.Unavailable);
  throw err;
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
  };
}

export function sidecarService(supervisor: FunctionSupervisor): ServiceBinding {
  const uptime = stopwatch();

  const run = (req: RunInput): Promise<RunResponseInit> => supervisor.run(req).then((o) => toResponse(req.invocationId, o), unavailableIfStopping);

  return bind(SidecarService, {
      run(req) {
        if (!req.invocationId) throw new ConnectError("invocation_id is required", Code.InvalidArgument);
        return run(req);
      },

      async *runBatch(req) {
        req.runs.forEach((r, i) => {
          if (!r.invocationId) throw new ConnectError(`runs[${i}].invocation_id is required`, Code.InvalidArgument);
        });
        // Every member starts now; each result is streamed the moment it is done, in completion order.
        const done: MessageInitShape<typeof RunBatchResponseSchema>[] = [];
        let wake: (() => void) | undefined;
        let failure: unknown;
        for (const r of req.runs) {
          run(r).then(
            (result) => done.push({ result }),
            (err: unknown) => (failure ??= err),
          ).finally(() => wake?.());
        }
        for (let remaining = req.runs.length; remaining > 0; ) {
          if (done.length === 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
          if (failure !== undefined) throw failure;
          while (done.length > 0) {
            remaining--;
            yield done.shift()!;
          }
        }
      },

      async loadFunction(req) {
        if (!req.function) throw new ConnectError("function is required", Code.InvalidArgument);
        const load = requestedLoad(req, supervisor.load);
        if (!fs.existsSync(load.codeDir) || !fs.statSync(load.codeDir).isDirectory()) {
          throw new ConnectError(`code directory ${load.codeDir} does not exist in the container`, Code.FailedPrecondition);
        }
        const { result, initUs, pid } = await supervisor.loadFunction(load).catch(unavailableIfStopping);
        if (!result.ok) throw new ConnectError(`function ${load.functionName} failed to load: ${result.error.message}`, Code.FailedPrecondition);
        return { initUs: BigInt(initUs), workerPid: pid };
      },

      fork() {
        throw new ConnectError("zygote templates and helper forks are not implemented yet (issue 4)", Code.Unimplemented);
      },

      async stats() {
        const w = supervisor.worker;
        const workers = w
          ? [{ pid: w.pid, function: w.load.functionName, rssBytes: await readRssBytes(w.pid), inflight: w.inflight, invocations: BigInt(w.invocations) }]
          : [];
        return {
          function: supervisor.load.functionName,
          loaded: w?.dispatchable ?? false,
          workers,
          sidecarRssBytes: BigInt(process.memoryUsage.rss()),
          uptimeUs: uptime(),
          inflight: supervisor.inflight,
        };
      },
    });
}
