// Reader for the Azure Functions 2019 per-minute invocation counts,
// `invocations_per_function_md.anon.dNN.csv`: HashOwner,HashApp,HashFunction,Trigger,1..1440.
import { readCsvRows } from "./csv-rows.js";

export const MINUTES_PER_DAY = 1440;

export const INVOCATIONS_HEADER: readonly string[] = [
  "HashOwner",
  "HashApp",
  "HashFunction",
  "Trigger",
  ...Array.from({ length: MINUTES_PER_DAY }, (_, i) => String(i + 1)),
];

export interface FunctionInvocationCounts {
  readonly owner: string;
  readonly app: string;
  readonly function: string;
  /** Trigger group as published: http, timer, event, queue, storage, orchestration, others. */
  readonly trigger: string;
  /** Invocations in each minute of the day; index 0 is the column named "1". */
  readonly perMinute: Uint32Array;
  /** 1-based line in the source file, for reports. */
  readonly line: number;
}

const FIRST_MINUTE_COLUMN = 4;

export async function readInvocationsPerFunction(file: string): Promise<FunctionInvocationCounts[]> {
  const functions: FunctionInvocationCounts[] = [];
  await readCsvRows(file, INVOCATIONS_HEADER, (row) => {
    const perMinute = new Uint32Array(MINUTES_PER_DAY);
    for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
      perMinute[minute] = row.count(FIRST_MINUTE_COLUMN + minute, `minute ${minute + 1}`, 0xffffffff);
    }
    functions.push({
      owner: row.text(0),
      app: row.text(1),
      function: row.text(2),
      trigger: row.text(3),
      perMinute,
      line: row.line,
    });
  });
  return functions;
}
