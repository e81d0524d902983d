// How one invocation ended inside the sidecar, before it becomes a RunResponse.
import { InvocationStatus } from "../gen/faas/common/v1/common_pb.js";
import type { ErrorReport } from "./ipc-messages.js";

export interface RunOutcome {
  status: InvocationStatus;
  /** UTF-8 JSON of main()'s result, when status is OK. */
  output?: Uint8Array;
  error?: ErrorReport;
  execUs: number;
  /** Import time of the worker, on the first invocation that worker answers (see WorkerProcess.takeInitUs). */
  initUs: number;
}

export function failedOutcome(status: InvocationStatus, error: ErrorReport, execUs = 0, initUs = 0): RunOutcome {
  return { status, error, execUs, initUs };
}
