// The function's worker process, forked by the sidecar with only the function's own environment.
// Imports the entry module once ("load"), then runs main(params, ctx) for each "run" message and answers
// each with exactly one "done" message. A template worker is forked with no function at all: it imports
// the container's package set ("preload") and later becomes one function's worker ("become").
import type { BecomeMessage, DoneMessage, ErrorReport, FromWorker, LoadMessage, PreloadMessage, RunMessage, ToWorker } from "./ipc-messages.js";
import { describeThrown } from "./worker/error-report.js";
import { FunctionCache } from "./worker/function-cache.js";
import { loadFunctionMain, type FunctionMain } from "./worker/function-module.js";
import { createContext, type FunctionIdentity } from "./worker/invocation-context.js";
import { preloadPackages } from "./worker/package-preload.js";

if (!process.send) {
  process.stderr.write("worker.js is started by the sidecar (child_process.fork with an IPC channel), not by hand\n");
  process.exit(64);
}

/** This file's frames are platform plumbing, not the function's: stack traces leave them out. */
const hiddenFiles = [process.argv[1] ?? ""];
const ignoreSendError = () => {};
const send = (msg: FromWorker) => {
  if (process.connected) process.send!(msg, undefined, undefined, ignoreSendError);
};

let main: FunctionMain | undefined;
let identity: FunctionIdentity = { functionName: "", memoryMb: 0 };
const cache = new FunctionCache();

async function load(msg: LoadMessage): Promise<void> {
  identity = { functionName: msg.functionName, memoryMb: msg.memoryMb };
  const started = process.hrtime.bigint();
  try {
    main = await loadFunctionMain(msg.entryPath);
    send({ kind: "loaded", initUs: Number((process.hrtime.bigint() - started) / 1000n) });
  } catch (err) {
    send({ kind: "load-failed", initUs: Number((process.hrtime.bigint() - started) / 1000n), error: describeThrown(err, hiddenFiles) });
  }
}

async function preload(msg: PreloadMessage): Promise<void> {
  const started = process.hrtime.bigint();
  const { loaded, failed } = await preloadPackages(msg.packagesRoot, msg.packages);
  send({ kind: "preloaded", preloadUs: Number((process.hrtime.bigint() - started) / 1000n), loaded, failed });
}

let became = false;

async function become(msg: BecomeMessage): Promise<void> {
  if (became || main) return; // once: a template becomes one function, for good
  became = true;
  // The template's own environment goes entirely: the function sees only what the sidecar sends.
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, msg.env);
  try {
    process.chdir(msg.codeDir);
  } catch (err) {
    send({ kind: "load-failed", initUs: 0, error: { type: "InitError", message: `cannot enter the code directory ${msg.codeDir}: ${(err as Error).message}`, stack: "" } });
    return;
  }
  await load({ kind: "load", entryPath: msg.entryPath, functionName: msg.functionName, memoryMb: msg.memoryMb });
}

function failed(seq: number, execUs: number, error: ErrorReport): DoneMessage {
  return { kind: "done", seq, execUs, error };
}

async function run(msg: RunMessage): Promise<void> {
  if (!main) return send(failed(msg.seq, 0, { type: "InitError", message: "the function is not loaded", stack: "" }));
  let params: unknown;
  try {
    params = msg.payload.length === 0 ? {} : JSON.parse(msg.payload);
  } catch (err) {
    return send(failed(msg.seq, 0, { type: "InvalidPayload", message: `payload is not valid JSON: ${(err as Error).message}`, stack: "" }));
  }
  const ctx = createContext(msg, identity, cache);
  let result: unknown;
  const started = process.hrtime.bigint();
  try {
    result = await main(params, ctx);
  } catch (err) {
    return send(failed(msg.seq, Number((process.hrtime.bigint() - started) / 1000n), describeThrown(err, hiddenFiles)));
  }
  const execUs = Number((process.hrtime.bigint() - started) / 1000n);
  let output: string | undefined;
  try {
    output = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    return send(failed(msg.seq, execUs, { type: "InvalidResult", message: `main() returned a value that is not JSON-serialisable: ${(err as Error).message}`, stack: "" }));
  }
  if (output === undefined) {
    return send(failed(msg.seq, execUs, { type: "InvalidResult", message: `main() returned a ${typeof result}, which has no JSON form`, stack: "" }));
  }
  send({ kind: "done", seq: msg.seq, execUs, output });
}

process.on("message", (msg: ToWorker) => {
  if (msg.kind === "run") void run(msg);
  else if (msg.kind === "load") void load(msg);
  else if (msg.kind === "preload") void preload(msg);
  else if (msg.kind === "become") void become(msg);
});

// The sidecar is gone (or the function called process.disconnect()): nobody can receive results any more.
process.on("disconnect", () => process.exit(0));

// A throw outside any awaited chain (a timer, an unawaited rejection) cannot be pinned on one invocation:
// report it so the sidecar can say why the worker died, then exit like Node would.
let crashing = false;
process.on("uncaughtException", (err) => {
  if (crashing) return;
  crashing = true;
  const error = describeThrown(err, hiddenFiles);
  process.stderr.write(`worker crashed: uncaught ${error.type}: ${error.message}\n`);
  if (!process.connected) process.exit(1);
  process.send!({ kind: "crashed", error } satisfies FromWorker, undefined, undefined, () => process.exit(1));
  setTimeout(() => process.exit(1), 500).unref();
});
