// A scenario: which trace, how it is sampled into a workload, and which node-manager configurations
// (start-up policies) replay it. Scenarios are JSON files (loadgen/scenarios/) or built from flags.
import * as fs from "node:fs";
import * as path from "node:path";
import { readAzure2019Day } from "./trace/azure2019-day.js";
import { readAzure2021Invocations } from "./trace/azure2021-invocations.js";
import { readDailySummary } from "./trace/daily-summary.js";
import { azure2019DaySource, azure2021Source, dailySummarySource, type WorkloadSource } from "./workload/source.js";
import type { WorkloadOptions } from "./workload/options.js";

export type TraceFormat = "azure2019-day" | "azure2019-daily" | "azure2021";
export const TRACE_FORMATS: readonly TraceFormat[] = ["azure2019-day", "azure2019-daily", "azure2021"];

export interface TraceRef {
  readonly format: TraceFormat;
  /** A file (daily summary, 2021 trace) or the directory of a 2019 day's three files; relative to the scenario file. */
  readonly path: string;
  /** "d01".."d14", for azure2019-day. */
  readonly day?: string;
}

/** One node-manager configuration to replay against: a policy and its settings (environment variables). */
export interface PolicySpec {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * How trace functions become deployed functions. `per-trace-function` (the default) deploys each trace function
 * under its own name, as the trace's platform ran it: it gets its own containers, and its idle gaps are its
 * own. `per-benchmark` deploys each benchmark function once and sends every trace function mapped onto it
 * there, which pools their arrivals into one function's containers (fewer, warmer containers than the trace had).
 */
export type DeployMode = "per-trace-function" | "per-benchmark";
export const DEPLOY_MODES: readonly DeployMode[] = ["per-trace-function", "per-benchmark"];
export const isDeployMode = (x: unknown): x is DeployMode => DEPLOY_MODES.includes(x as DeployMode);

export interface Scenario {
  readonly name: string;
  readonly trace: TraceRef;
  readonly workload: WorkloadOptions;
  readonly policies: readonly PolicySpec[];
  readonly protocol: "grpc" | "connect";
  readonly deploy: DeployMode;
}

/** "keepalive" or "keepalive:KEEP_ALIVE_MS=60000:IDLE_AFTER_MS=0". */
export function parsePolicy(text: string): PolicySpec {
  const [name, ...settings] = text.split(":");
  if (!/^[a-z][a-z0-9-]*$/.test(name ?? "")) throw new Error(`policy ${JSON.stringify(text)}: expected NAME[:VAR=value...]`);
  const env: Record<string, string> = { NODE_POLICY: name };
  for (const s of settings) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(s);
    if (!m) throw new Error(`policy ${JSON.stringify(text)}: setting ${JSON.stringify(s)} is not VAR=value`);
    env[m[1]] = m[2];
  }
  return { name: settings.length > 0 ? `${name} ${settings.join(" ")}` : name, env };
}

export function readScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`scenario ${file}: ${(err as Error).message}`);
  }
  const s = raw as { name?: string; trace?: TraceRef; workload?: WorkloadOptions; policies?: string[]; protocol?: string; deploy?: string };
  if (!s.trace || !TRACE_FORMATS.includes(s.trace.format) || typeof s.trace.path !== "string") {
    throw new Error(`scenario ${file}: "trace" must be { "format": ${TRACE_FORMATS.join("|")}, "path": ... }`);
  }
  if (!s.workload || typeof s.workload.seed !== "number") throw new Error(`scenario ${file}: "workload" with a numeric "seed" is required`);
  if (s.protocol !== undefined && s.protocol !== "grpc" && s.protocol !== "connect") throw new Error(`scenario ${file}: "protocol" must be grpc or connect`);
  if (s.deploy !== undefined && !isDeployMode(s.deploy)) throw new Error(`scenario ${file}: "deploy" must be ${DEPLOY_MODES.join(" or ")}`);
  return {
    name: s.name ?? path.basename(file, ".json"),
    trace: { ...s.trace, path: path.resolve(path.dirname(file), s.trace.path) },
    workload: s.workload,
    policies: (s.policies ?? ["keepalive"]).map(parsePolicy),
    protocol: (s.protocol as "grpc" | "connect" | undefined) ?? "grpc",
    deploy: s.deploy ?? "per-trace-function",
  };
}

export async function loadSource(trace: TraceRef): Promise<WorkloadSource> {
  switch (trace.format) {
    case "azure2019-daily":
      return dailySummarySource(await readDailySummary(trace.path), `Azure 2019 daily summary (${path.basename(trace.path)})`);
    case "azure2019-day":
      if (!trace.day) throw new Error("azure2019-day needs a day (d01..d14)");
      return azure2019DaySource(await readAzure2019Day(trace.path, trace.day));
    case "azure2021":
      return azure2021Source(await readAzure2021Invocations(trace.path));
  }
}
