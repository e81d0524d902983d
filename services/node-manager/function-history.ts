// What the node has seen of each function, for the policies: arrivals (with how many containers the
// function's invocations needed at each), idle times (from the moment it had nothing running to its next
// arrival) and cold starts. Bounded: only the recent past decides.
import type { FunctionView, Packages } from "./policies/policy.js";

/** Samples kept per function and kind. */
export const HISTORY_LENGTH = 512;

interface Record {
  readonly arrivals: number[];
  /** Parallel to arrivals: containers needed at that arrival. */
  readonly arrivalLevels: number[];
  readonly idleTimesMs: number[];
  readonly coldStarts: number[];
  idleSince: number | undefined;
}

function push(list: number[], value: number): void {
  list.push(value);
  if (list.length > HISTORY_LENGTH) list.splice(0, list.length - HISTORY_LENGTH);
}

export class FunctionHistory {
  readonly #records = new Map<string, Record>();

  #record(name: string): Record {
    let r = this.#records.get(name);
    if (!r) {
      r = { arrivals: [], arrivalLevels: [], idleTimesMs: [], coldStarts: [], idleSince: undefined };
      this.#records.set(name, r);
    }
    return r;
  }

  /** An invocation arrived; level: containers the function's invocations in flight need with it (>= 1). */
  arrived(name: string, now: number, level = 1): void {
    const r = this.#record(name);
    push(r.arrivals, now);
    push(r.arrivalLevels, level);
    if (r.idleSince !== undefined) push(r.idleTimesMs, Math.max(0, now - r.idleSince));
    r.idleSince = undefined;
  }

  /** The function has nothing running or waiting any more. */
  idle(name: string, now: number): void {
    if (!name) return;
    this.#record(name).idleSince = now;
  }

  coldStart(name: string, now: number): void {
    push(this.#record(name).coldStarts, now);
  }

  forget(name: string): void {
    this.#records.delete(name);
  }

  view(name: string, dependencies: Packages, memoryMb: number): FunctionView {
    const r = this.#record(name);
    return { name, dependencies, memoryMb, arrivals: r.arrivals, arrivalLevels: r.arrivalLevels, idleTimesMs: r.idleTimesMs, coldStarts: r.coldStarts, idleSince: r.idleSince };
  }
}
