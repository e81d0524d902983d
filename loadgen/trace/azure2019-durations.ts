// Reader for the Azure Functions 2019 execution-time summaries,
// `function_durations_percentiles.anon.dNN.csv` (all times in ms, cold starts excluded).
import { readCsvRows } from "./csv-rows.js";

export const DURATIONS_HEADER: readonly string[] = [
  "HashOwner",
  "HashApp",
  "HashFunction",
  "Average",
  "Count",
  "Minimum",
  "Maximum",
  "percentile_Average_0",
  "percentile_Average_1",
  "percentile_Average_25",
  "percentile_Average_50",
  "percentile_Average_75",
  "percentile_Average_99",
  "percentile_Average_100",
];

/** Weighted percentiles of the 30-second execution-time averages (not of single invocations). */
export interface DurationPercentilesMs {
  readonly p0: number;
  readonly p1: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p99: number;
  readonly p100: number;
}

export interface FunctionDurations {
  readonly owner: string;
  readonly app: string;
  readonly function: string;
  readonly averageMs: number;
  /** Executions behind the average; may differ from the per-minute counts (another log). */
  readonly count: number;
  /** Undefined when the cell is empty: the dataset notes these were not always recorded. */
  readonly minimumMs: number | undefined;
  readonly maximumMs: number | undefined;
  readonly percentilesMs: DurationPercentilesMs;
  readonly line: number;
}

export async function readFunctionDurations(file: string): Promise<FunctionDurations[]> {
  const rows: FunctionDurations[] = [];
  await readCsvRows(file, DURATIONS_HEADER, (row) => {
    rows.push({
      owner: row.text(0),
      app: row.text(1),
      function: row.text(2),
      averageMs: row.decimal(3),
      count: row.count(4),
      minimumMs: row.optionalDecimal(5),
      maximumMs: row.optionalDecimal(6),
      percentilesMs: {
        p0: row.decimal(7),
        p1: row.decimal(8),
        p25: row.decimal(9),
        p50: row.decimal(10),
        p75: row.decimal(11),
        p99: row.decimal(12),
        p100: row.decimal(13),
      },
      line: row.line,
    });
  });
  return rows;
}
