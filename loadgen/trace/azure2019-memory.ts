// Reader for the Azure Functions 2019 per-app allocated memory, `app_memory_percentiles.anon.dNN.csv`
// (published for d01..d12 only). Memory is measured per app, not per function.
import { readCsvRows } from "./csv-rows.js";

export const MEMORY_HEADER: readonly string[] = [
  "HashOwner",
  "HashApp",
  "SampleCount",
  "AverageAllocatedMb",
  "AverageAllocatedMb_pct1",
  "AverageAllocatedMb_pct5",
  "AverageAllocatedMb_pct25",
  "AverageAllocatedMb_pct50",
  "AverageAllocatedMb_pct75",
  "AverageAllocatedMb_pct95",
  "AverageAllocatedMb_pct99",
  "AverageAllocatedMb_pct100",
];

/** Weighted percentiles of the per-minute allocation averages. */
export interface MemoryPercentilesMb {
  readonly p1: number;
  readonly p5: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p95: number;
  readonly p99: number;
  readonly p100: number;
}

export interface AppMemory {
  readonly owner: string;
  readonly app: string;
  readonly sampleCount: number;
  readonly averageMb: number;
  readonly percentilesMb: MemoryPercentilesMb;
  readonly line: number;
}

export async function readAppMemory(file: string): Promise<AppMemory[]> {
  const rows: AppMemory[] = [];
  await readCsvRows(file, MEMORY_HEADER, (row) => {
    rows.push({
      owner: row.text(0),
      app: row.text(1),
      sampleCount: row.count(2),
      averageMb: row.decimal(3),
      percentilesMb: {
        p1: row.decimal(4),
        p5: row.decimal(5),
        p25: row.decimal(6),
        p50: row.decimal(7),
        p75: row.decimal(8),
        p95: row.decimal(9),
        p99: row.decimal(10),
        p100: row.decimal(11),
      },
      line: row.line,
    });
  });
  return rows;
}
