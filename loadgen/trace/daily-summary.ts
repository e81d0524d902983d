// Reader for the bundled one-day summary (`traces/azure2019-d07-functions.csv`): HashFunction,Average,Count
// — one row per function with its average execution time (ms) and invocations that day, no per-minute series.
import { readCsvRows } from "./csv-rows.js";

export const DAILY_SUMMARY_HEADER: readonly string[] = ["HashFunction", "Average", "Count"];

export interface DailyFunctionSummary {
  readonly function: string;
  readonly averageMs: number;
  readonly count: number;
  readonly line: number;
}

export async function readDailySummary(file: string): Promise<DailyFunctionSummary[]> {
  const rows: DailyFunctionSummary[] = [];
  const firstLine = new Map<string, number>();
  await readCsvRows(file, DAILY_SUMMARY_HEADER, (row) => {
    const id = row.text(0);
    // The id is the only key of a row here, so a repeated one cannot be told apart from the first.
    const seen = firstLine.get(id);
    if (seen !== undefined) throw row.error(0, `expected a unique HashFunction, got "${id}" again (first on line ${seen})`);
    firstLine.set(id, row.line);
    rows.push({ function: id, averageMs: row.decimal(1), count: row.count(2), line: row.line });
  });
  return rows;
}
