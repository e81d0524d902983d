// Reader for the Azure Functions 2021 per-invocation trace,
// `AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt`: app,func,end_timestamp,duration (seconds).
// Rows are not in time order. `func` is unique only within `app`, so a function is "app/func"; an
// invocation started at end_timestamp - duration.
import { readCsvRows } from "./csv-rows.js";
import { TraceFormatError } from "./trace-format-error.js";

export const AZURE2021_HEADER: readonly string[] = ["app", "func", "end_timestamp", "duration"];

export interface Azure2021Function {
  /** "app/func". */
  readonly id: string;
  readonly app: string;
  readonly func: string;
  /** Start times in trace seconds (end_timestamp - duration), ascending. */
  readonly startsS: Float64Array;
  readonly averageDurationS: number;
}

export interface Azure2021Trace {
  readonly file: string;
  /** In order of first appearance in the file. */
  readonly functions: readonly Azure2021Function[];
  readonly invocations: number;
  /** Earliest start: the trace start that windows are measured from. */
  readonly firstStartS: number;
  readonly lastStartS: number;
}

interface Accumulator {
  readonly app: string;
  readonly func: string;
  readonly starts: number[];
  durationSumS: number;
}

export async function readAzure2021Invocations(file: string): Promise<Azure2021Trace> {
  const byId = new Map<string, Accumulator>();
  let firstStartS = Infinity;
  let lastStartS = -Infinity;
  const invocations = await readCsvRows(file, AZURE2021_HEADER, (row) => {
    const app = row.text(0);
    const func = row.text(1);
    const endS = row.decimal(2);
    const durationS = row.decimal(3);
    const startS = endS - durationS;
    const id = `${app}/${func}`;
    let acc = byId.get(id);
    if (acc === undefined) {
      acc = { app, func, starts: [], durationSumS: 0 };
      byId.set(id, acc);
    }
    acc.starts.push(startS);
    acc.durationSumS += durationS;
    if (startS < firstStartS) firstStartS = startS;
    if (startS > lastStartS) lastStartS = startS;
  });
  if (invocations === 0) throw new TraceFormatError(file, 2, undefined, "expected at least one invocation after the header");
  const functions = [...byId].map(([id, acc]): Azure2021Function => ({
    id,
    app: acc.app,
    func: acc.func,
    startsS: Float64Array.from(acc.starts).sort(),
    averageDurationS: acc.durationSumS / acc.starts.length,
  }));
  return { file, functions, invocations, firstStartS, lastStartS };
}
