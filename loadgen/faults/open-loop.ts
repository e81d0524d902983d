// Drives one function at a fixed rate, open loop (arrivals do not wait for answers), and keeps what each
// call came to: the invocation id the gateway gave it (accepted), its code, and whether it hung (no
// answer within hangMs). A hung call is counted as such the moment its bound passes, whatever it does
// after.
import { dispatch, type Scheduled } from "../replay/scheduler.js";

export interface CallResult {
  /** The gateway's invocation id: present when the invocation was accepted (answer or error alike). */
  readonly invocationId?: string;
  /** "OK" or the gRPC code's name. */
  readonly code: string;
  /** Milliseconds from the call to its answer. */
  readonly ms: number;
  readonly hung: boolean;
}

export interface OpenLoopOptions {
  readonly rate: number;
  readonly durationMs: number;
  /** A call not answered within this is hung. */
  readonly hangMs: number;
  /** Called at the start time of every arrival. */
  readonly call: (seq: number) => Promise<Omit<CallResult, "ms" | "hung">>;
  readonly signal?: AbortSignal;
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<CallResult[]> {
  const count = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const arrivals: Scheduled<number>[] = Array.from({ length: count }, (_, i) => ({ atMs: (i * 1000) / o.rate, item: i }));
  const pending: Promise<CallResult>[] = [];
  await dispatch(arrivals, (seq) => pending.push(timed(o.call(seq), o.hangMs)), { signal: o.signal });
  return Promise.all(pending);
}

async function timed(call: Promise<Omit<CallResult, "ms" | "hung">>, hangMs: number): Promise<CallResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<CallResult>((resolve) => {
    timer = setTimeout(() => resolve({ code: "HUNG", ms: performance.now() - start, hung: true }), hangMs);
  });
  const answered = call.then(
    (r) => ({ ...r, ms: performance.now() - start, hung: false }),
    (err: Error) => ({ code: `CLIENT_ERROR: ${err.message}`, ms: performance.now() - start, hung: false }),
  );
  try {
    return await Promise.race([answered, hung]);
  } finally {
    clearTimeout(timer);
  }
}
