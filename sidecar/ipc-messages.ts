// The IPC protocol between the sidecar and its worker process. On the warm path it is one message each
// way per invocation; the payload and the result travel as JSON text, so each is parsed exactly once
// (by the worker) and never re-encoded by the sidecar.

/** What went wrong, in the shape of faas.common.v1.FunctionError. */
export interface ErrorReport {
  readonly type: string;
  readonly message: string;
  readonly stack: string;
}

/** Sent once, right after the fork: which module to import and what ctx reports about the function. */
export interface LoadMessage {
  readonly kind: "load";
  readonly entryPath: string;
  readonly functionName: string;
  readonly memoryMb: number;
}

export interface RunMessage {
  readonly kind: "run";
  /** Sidecar-local sequence number; invocation ids are the caller's and may repeat. */
  readonly seq: number;
  readonly invocationId: string;
  /** JSON text; empty means {}. */
  readonly payload: string;
  /** Unix milliseconds at which the sidecar kills the worker. */
  readonly deadlineMs: number;
  readonly traceparent: string;
}

/**
 * Sent once to a template worker right after its fork: import the container's package set (resolved from
 * packagesRoot, as a file there would), then wait for "become".
 */
export interface PreloadMessage {
  readonly kind: "preload";
  readonly packagesRoot: string;
  /** Package names, in the order to import them. */
  readonly packages: readonly string[];
}

/**
 * Sent once to a template that answered "preloaded": become this function's worker. env replaces the
 * template's whole environment, cwd becomes codeDir, then the entry is imported as "load" does and the
 * worker answers "loaded" or "load-failed".
 */
export interface BecomeMessage {
  readonly kind: "become";
  readonly env: Readonly<Record<string, string>>;
  readonly codeDir: string;
  readonly entryPath: string;
  readonly functionName: string;
  readonly memoryMb: number;
}

export type ToWorker = LoadMessage | RunMessage | PreloadMessage | BecomeMessage;

export interface LoadedMessage {
  readonly kind: "loaded";
  readonly initUs: number;
}

export interface LoadFailedMessage {
  readonly kind: "load-failed";
  readonly initUs: number;
  readonly error: ErrorReport;
}

export interface DoneMessage {
  readonly kind: "done";
  readonly seq: number;
  readonly execUs: number;
  /** JSON text of main()'s result; absent when error is set. */
  readonly output?: string;
  readonly error?: ErrorReport;
}

/** An uncaught exception or unhandled rejection: the worker exits right after sending this. */
export interface CrashedMessage {
  readonly kind: "crashed";
  readonly error: ErrorReport;
}

/** A package of the set that could not be imported; the template goes on without it. */
export interface PreloadFailure {
  readonly name: string;
  readonly message: string;
}

export interface PreloadedMessage {
  readonly kind: "preloaded";
  readonly preloadUs: number;
  readonly loaded: readonly string[];
  readonly failed: readonly PreloadFailure[];
}

export type FromWorker = LoadedMessage | LoadFailedMessage | DoneMessage | CrashedMessage | PreloadedMessage;
