// Resolves the window option against a source: whole minutes of the day for the 2019 sources (their
// counts are per minute), any minutes/seconds from the trace start for the 2021 trace.
import { MINUTES_PER_DAY } from "../trace/azure2019-invocations.js";
import type { WindowOption } from "./options.js";
import type { WorkloadSource } from "./source.js";

/** Half-open [startMs, endMs) of trace time: from midnight (2019) or from the first start (2021). */
export interface TraceWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly label: string;
}

const MINUTE_MS = 60_000;

export function resolveWindow(window: WindowOption | undefined, source: WorkloadSource): TraceWindow {
  if (source.kind === "recorded") return recordedWindow(window, source.lastStartS);
  if (window === undefined) return { startMs: 0, endMs: MINUTES_PER_DAY * MINUTE_MS, label: `minutes 0–${MINUTES_PER_DAY} (whole day)` };
  if (!("startMinute" in window)) {
    throw new RangeError(`window for ${source.kind} source "${source.name}" must be given in minutes of the day ({ startMinute, endMinute })`);
  }
  const { startMinute, endMinute } = window;
  if (!(Number.isInteger(startMinute) && Number.isInteger(endMinute) && 0 <= startMinute && startMinute < endMinute && endMinute <= MINUTES_PER_DAY)) {
    throw new RangeError(`window must be whole minutes with 0 ≤ startMinute < endMinute ≤ ${MINUTES_PER_DAY}, got ${startMinute}–${endMinute}`);
  }
  return { startMs: startMinute * MINUTE_MS, endMs: endMinute * MINUTE_MS, label: `minutes ${startMinute}–${endMinute} of the day` };
}

function recordedWindow(window: WindowOption | undefined, lastStartS: number): TraceWindow {
  // Whole seconds, one past the last start so that the last invocation is inside the half-open window.
  if (window === undefined) {
    const endS = Math.floor(lastStartS) + 1;
    return { startMs: 0, endMs: endS * 1000, label: `seconds 0–${endS} from the trace start (whole trace)` };
  }
  const [start, end, unit, unitMs] =
    "startMinute" in window
      ? [window.startMinute, window.endMinute, "minutes", MINUTE_MS]
      : [window.startSecond, window.endSecond, "seconds", 1000];
  if (!(Number.isFinite(start) && Number.isFinite(end) && 0 <= start && start < end)) {
    throw new RangeError(`window must have 0 ≤ start < end (${unit} from the trace start), got ${start}–${end}`);
  }
  return { startMs: start * unitMs, endMs: end * unitMs, label: `${unit} ${start}–${end} from the trace start` };
}
