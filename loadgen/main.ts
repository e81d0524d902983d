// The load generator's command line. Replays a scenario file, or one built from flags, against a mesh per
// policy started on this machine, and writes report.md and report.html. Its flags: USAGE below (`--help`).
import * as path from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../scripts/local-mesh.js";
import { runScenario } from "./run-scenario.js";
import { DEPLOY_MODES, isDeployMode, parsePolicy, readScenario, TRACE_FORMATS, type Scenario, type TraceFormat } from "./scenario.js";
import type { SampleOption, WorkloadOptions } from "./workload/options.js";

export const DEFAULT_SCENARIO = path.join(REPO_ROOT, "loadgen/scenarios/demo.json");

export const USAGE = `Replays a scenario against a mesh per policy started on this machine; writes report.md and report.html.
  node dist/loadgen/main.js [scenario.json] [flags]        (default scenario: loadgen/scenarios/demo.json)
Flags (override the scenario's):
  --trace PATH --format azure2019-daily|azure2019-day|azure2021 [--day d07]
  --functions N --strata K | --apps N | --all        sample
  --window A:B            minutes of the day (2019) or seconds from the trace start (2021)
  --compression X         replay time = trace time / X
  --arrivals even|poisson --seed N --max-arrivals N   (negative numbers as --seed=-1)
  --policies P[,P...]     each NAME[:VAR=value...], e.g. keepalive,keepalive:KEEP_ALIVE_MS=60000
  --protocol grpc|connect --out DIR
  --deploy per-trace-function|per-benchmark   each trace function its own deployed function (default), or one per benchmark
  --help                  this text`;

/** Whether the command line asks for the usage text (nothing else is read then). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

const STRING_FLAGS = ["trace", "format", "day", "functions", "strata", "apps", "window", "compression", "arrivals", "seed", "max-arrivals", "policies", "protocol", "deploy", "out"] as const;

/** The scenario file (optional) and the flags given, by name; unknown flags and missing values are errors. */
function readArgs(argv: string[]): { scenarioFile?: string; flags: Map<string, string> } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...Object.fromEntries(STRING_FLAGS.map((name) => [name, { type: "string" as const }])), all: { type: "boolean" } },
  });
  if (positionals.length > 1) throw new Error(`unexpected argument ${positionals[1]}`);
  const flags = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) flags.set(name, String(value));
  return { scenarioFile: positionals[0], flags };
}

const number = (flags: Map<string, string>, name: string): number | undefined => {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
};

export function scenarioFrom(argv: string[]): { scenario: Scenario; outDir?: string } {
  const { scenarioFile, flags } = readArgs(argv);
  const base = readScenario(scenarioFile ?? DEFAULT_SCENARIO);
  const format = (flags.get("format") ?? base.trace.format) as TraceFormat;
  if (!TRACE_FORMATS.includes(format)) throw new Error(`--format must be one of ${TRACE_FORMATS.join(", ")}`);
  let sample: SampleOption | undefined = base.workload.sample;
  if (flags.has("all")) sample = { kind: "all" };
  else if (flags.has("apps")) sample = { kind: "apps", apps: number(flags, "apps")! };
  else if (flags.has("functions")) sample = { kind: "rank-stratified", functions: number(flags, "functions")!, strata: number(flags, "strata") ?? 1 };
  let window = base.workload.window;
  const w = flags.get("window");
  if (w) {
    const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(w);
    if (!m) throw new Error(`--window must be START:END, got ${w}`);
    window = format === "azure2021" ? { startSecond: Number(m[1]), endSecond: Number(m[2]) } : { startMinute: Number(m[1]), endMinute: Number(m[2]) };
  }
  const workload: WorkloadOptions = {
    ...base.workload,
    sample,
    window,
    seed: number(flags, "seed") ?? base.workload.seed,
    compression: number(flags, "compression") ?? base.workload.compression,
    arrivals: (flags.get("arrivals") as WorkloadOptions["arrivals"]) ?? (format === "azure2021" ? undefined : base.workload.arrivals),
    maxArrivals: number(flags, "max-arrivals") ?? base.workload.maxArrivals,
  };
  const protocol = flags.get("protocol") ?? base.protocol;
  if (protocol !== "grpc" && protocol !== "connect") throw new Error("--protocol must be grpc or connect");
  const deploy = flags.get("deploy") ?? base.deploy;
  if (!isDeployMode(deploy)) throw new Error(`--deploy must be ${DEPLOY_MODES.join(" or ")}`);
  return {
    scenario: {
      name: base.name,
      trace: flags.has("trace") ? { format, path: path.resolve(flags.get("trace")!), day: flags.get("day") } : { ...base.trace, format, day: flags.get("day") ?? base.trace.day },
      workload,
      policies: flags.has("policies") ? flags.get("policies")!.split(",").map(parsePolicy) : base.policies,
      protocol,
      deploy,
    },
    outDir: flags.get("out"),
  };
}

async function main() {
  if (wantsHelp(process.argv.slice(2))) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { scenario, outDir } = scenarioFrom(process.argv.slice(2));
  const out = outDir ?? path.join(REPO_ROOT, ".faas/reports", `${scenario.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const result = await runScenario(scenario, { outDir: out });
  process.stdout.write(`\n${result.markdown}\nreports: ${result.files.markdown}\n         ${result.files.html}\n`);
}

if (process.argv[1]?.endsWith(path.join("loadgen", "main.js"))) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    console.error("(--help for usage)");
    process.exit(1);
  });
}
