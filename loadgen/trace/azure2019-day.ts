// One day of the Azure Functions 2019 trace: the per-minute counts joined with the execution times by
// (owner, app, function) and with the app's memory by (owner, app). A function without a durations row
// cannot be replayed faithfully, so it is left out of `functions` and listed in `missing`; repeated keys
// keep their first row and are listed in `duplicates`. Nothing disappears without a trace in the result.
import * as fs from "node:fs";
import * as path from "node:path";
import { readAppMemory, type AppMemory } from "./azure2019-memory.js";
import { readFunctionDurations, type FunctionDurations } from "./azure2019-durations.js";
import { readInvocationsPerFunction, type FunctionInvocationCounts } from "./azure2019-invocations.js";

export interface Azure2019DayFiles {
  readonly invocations: string;
  readonly durations: string;
  /** Undefined for d13 and d14: the dataset publishes memory for d01..d12 only. */
  readonly memory: string | undefined;
}

export interface Azure2019DayFunction extends FunctionInvocationCounts {
  readonly durations: FunctionDurations;
  /** The app's memory row; undefined when the app has none. */
  readonly memory: AppMemory | undefined;
}

export interface MissingFunction {
  readonly owner: string;
  readonly app: string;
  readonly function: string;
  /** Line of its row in the invocations file. */
  readonly line: number;
  readonly reason: string;
}

export interface DuplicateRow {
  readonly file: string;
  readonly line: number;
  readonly firstLine: number;
  readonly key: string;
}

export interface Azure2019Day {
  readonly day: string;
  readonly files: Azure2019DayFiles;
  readonly functions: readonly Azure2019DayFunction[];
  readonly missing: readonly MissingFunction[];
  readonly duplicates: readonly DuplicateRow[];
  /** Durations rows whose function has no per-minute row (no arrivals to replay). */
  readonly durationsWithoutInvocations: number;
  /** Joined functions whose app has no memory row. */
  readonly functionsWithoutMemory: number;
}

const DAY = /^d(0[1-9]|1[0-4])$/;
const DAYS_WITHOUT_MEMORY = new Set(["d13", "d14"]);

export function azure2019DayFiles(dir: string, day: string): Azure2019DayFiles {
  if (!DAY.test(day)) throw new RangeError(`day must be d01..d14, got "${day}"`);
  return {
    invocations: path.join(dir, `invocations_per_function_md.anon.${day}.csv`),
    durations: path.join(dir, `function_durations_percentiles.anon.${day}.csv`),
    memory: DAYS_WITHOUT_MEMORY.has(day) ? undefined : path.join(dir, `app_memory_percentiles.anon.${day}.csv`),
  };
}

export async function readAzure2019Day(dir: string, day: string): Promise<Azure2019Day> {
  const files = azure2019DayFiles(dir, day);
  for (const file of [files.invocations, files.durations, files.memory]) {
    if (file !== undefined && !fs.existsSync(file)) throw new Error(`${file}: not found (needed for Azure 2019 day ${day})`);
  }
  const [counts, durations, memory] = await Promise.all([
    readInvocationsPerFunction(files.invocations),
    readFunctionDurations(files.durations),
    files.memory === undefined ? Promise.resolve([]) : readAppMemory(files.memory),
  ]);
  return { day, files, ...joinAzure2019Day(files, counts, durations, memory) };
}

/** The join itself, pure, over rows already read. */
export function joinAzure2019Day(
  files: Azure2019DayFiles,
  counts: readonly FunctionInvocationCounts[],
  durations: readonly FunctionDurations[],
  memory: readonly AppMemory[],
): Omit<Azure2019Day, "day" | "files"> {
  const duplicates: DuplicateRow[] = [];
  const durationsByKey = firstRowByKey(durations, functionKey, files.durations, duplicates);
  const memoryByApp = firstRowByKey(memory, appKey, files.memory ?? "", duplicates);
  const countsByKey = firstRowByKey(counts, functionKey, files.invocations, duplicates);

  const functions: Azure2019DayFunction[] = [];
  const missing: MissingFunction[] = [];
  let functionsWithoutMemory = 0;
  for (const row of countsByKey.values()) {
    const duration = durationsByKey.get(functionKey(row));
    if (duration === undefined) {
      missing.push({
        owner: row.owner,
        app: row.app,
        function: row.function,
        line: row.line,
        reason: `no row in ${path.basename(files.durations)}`,
      });
      continue;
    }
    const appMemory = memoryByApp.get(appKey(row));
    if (appMemory === undefined) functionsWithoutMemory++;
    functions.push({ ...row, durations: duration, memory: appMemory });
  }
  let durationsWithoutInvocations = 0;
  for (const key of durationsByKey.keys()) if (!countsByKey.has(key)) durationsWithoutInvocations++;
  return { functions, missing, duplicates, durationsWithoutInvocations, functionsWithoutMemory };
}

// The hashes are hex, so "/" cannot occur inside one; the key is also what `duplicates` reports.
const functionKey = (r: { owner: string; app: string; function: string }) => `${r.owner}/${r.app}/${r.function}`;
const appKey = (r: { owner: string; app: string }) => `${r.owner}/${r.app}`;

function firstRowByKey<Row extends { line: number }>(
  rows: readonly Row[],
  keyOf: (row: Row) => string,
  file: string,
  duplicates: DuplicateRow[],
): Map<string, Row> {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row);
    const first = byKey.get(key);
    if (first === undefined) byKey.set(key, row);
    else duplicates.push({ file, line: row.line, firstLine: first.line, key });
  }
  return byKey;
}
