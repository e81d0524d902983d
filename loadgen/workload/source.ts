// The three shapes a trace can feed a workload in, and the adapters from the readers' output:
// per-minute counts (Azure 2019 day), daily totals only (the bundled summary), and recorded start times
// (Azure 2021). The builder chooses the arrival arithmetic by this kind.
import type { Azure2019Day } from "../trace/azure2019-day.js";
import type { Azure2021Trace } from "../trace/azure2021-invocations.js";
import type { DailyFunctionSummary } from "../trace/daily-summary.js";
import type { TraceFunction } from "./model.js";

export interface PerMinuteFunction {
  readonly function: TraceFunction;
  /** Invocations in each minute of the day. */
  readonly perMinute: Uint32Array;
}

export interface RecordedFunction {
  /** dailyCount is filled in by the builder: invocations inside the chosen window. */
  readonly function: Omit<TraceFunction, "dailyCount">;
  /** Start times in seconds from the trace start, ascending. */
  readonly startsS: Float64Array;
}

export type WorkloadSource =
  | { readonly kind: "per-minute"; readonly name: string; readonly functions: readonly PerMinuteFunction[] }
  | { readonly kind: "daily-totals"; readonly name: string; readonly functions: readonly TraceFunction[] }
  | {
      readonly kind: "recorded";
      readonly name: string;
      readonly functions: readonly RecordedFunction[];
      /** Last start time, in seconds from the trace start (the first start). */
      readonly lastStartS: number;
    };

export function azure2019DaySource(day: Azure2019Day): WorkloadSource {
  const functions = day.functions.map(
    (f): PerMinuteFunction => ({
      function: {
        id: f.function,
        app: f.app,
        avgDurationMs: f.durations.averageMs,
        ...(f.memory === undefined ? {} : { memoryMb: f.memory.averageMb }),
        dailyCount: f.perMinute.reduce((sum, count) => sum + count, 0),
      },
      perMinute: f.perMinute,
    }),
  );
  assertUniqueIds(functions.map((f) => f.function.id));
  const excluded = day.missing.length === 0 ? "" : `, ${day.missing.length} without durations excluded`;
  return { kind: "per-minute", name: `Azure 2019 ${day.day} (${day.files.invocations}${excluded})`, functions };
}

export function dailySummarySource(rows: readonly DailyFunctionSummary[], name: string): WorkloadSource {
  const functions = rows.map((r): TraceFunction => ({ id: r.function, app: "", avgDurationMs: r.averageMs, dailyCount: r.count }));
  assertUniqueIds(functions.map((f) => f.id));
  return { kind: "daily-totals", name, functions };
}

export function azure2021Source(trace: Azure2021Trace): WorkloadSource {
  const origin = trace.firstStartS;
  const functions = trace.functions.map(
    (f): RecordedFunction => ({
      function: { id: f.id, app: f.app, avgDurationMs: f.averageDurationS * 1000 },
      startsS: f.startsS.map((s) => s - origin),
    }),
  );
  return { kind: "recorded", name: `Azure 2021 (${trace.file})`, functions, lastStartS: trace.lastStartS - origin };
}

function assertUniqueIds(ids: readonly string[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`function id "${id}" occurs twice in the source; arrivals could not tell them apart`);
    seen.add(id);
  }
}
