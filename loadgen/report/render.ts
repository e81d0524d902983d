// A set of runs (one per policy, same workload) as Markdown and as one self-contained HTML page.
import { lineChart } from "./svg-chart.js";
import type { Breakdown, Percentiles, RunReport } from "./run-report.js";

const f1 = (x: number) => x.toFixed(1);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const latencyCells = (p: Percentiles | undefined) => (p ? [String(p.count), f1(p.p50), f1(p.p95), f1(p.p99)] : ["0", "-", "-", "-"]);
const breakdownCells = (b: Breakdown | undefined) => (b ? [f1(b.queuedMs), f1(b.startupMs), f1(b.initMs), f1(b.execMs), f1(b.totalMs)] : ["-", "-", "-", "-", "-"]);

/** notes: lines about the workload and the mapping, printed under the title. */
export function renderMarkdown(runs: readonly RunReport[], notes: readonly string[] = []): string {
  const out: string[] = [];
  out.push(`# Replay report\n\nWorkload: ${runs[0]?.workload ?? "-"}\n`);
  for (const n of notes) out.push(`${n}\n`);
  out.push("## Summary\n");
  out.push(
    table(
      ["policy", "invocations", "errors", "cold starts", "of them first arrivals", "p50 ms", "p95 ms", "p99 ms", "containers", "memory GB·s", "lag p99 ms", "records"],
      runs.map((r) => [
        r.label,
        String(r.invocations),
        `${r.errors}${r.errors ? ` (${Object.entries(r.errorsByStatus).map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}`,
        `${r.coldStarts} (${pct(r.coldShare)})`,
        String(r.firstArrivalColdStarts),
        f1(r.latency.all.p50),
        f1(r.latency.all.p95),
        f1(r.latency.all.p99),
        String(r.containersCreated),
        (r.memoryMbSeconds / 1024).toFixed(1),
        f1(r.lag.p99),
        `${r.recordsMatched}${r.recordsMissing ? `, ${r.recordsMissing} missing` : ""}`,
      ]),
    ),
  );
  for (const r of runs) {
    out.push(`\n## ${r.label}\n`);
    out.push("Client-side latency by start kind (ms):\n");
    out.push(table(["start kind", "count", "p50", "p95", "p99"], Object.entries(r.latency.byKind).map(([k, p]) => [k, ...latencyCells(p)])));
    out.push("\nWhere the time went, means from trace-store records (ms):\n");
    out.push(
      table(
        ["start kind", "queued", "startup", "init", "exec", "total"],
        [["all", ...breakdownCells(r.breakdown.all)], ...Object.entries(r.breakdown.byKind).map(([k, b]) => [k, ...breakdownCells(b)])],
      ),
    );
  }
  return out.join("\n") + "\n";
}

export function renderHtml(runs: readonly RunReport[], notes: readonly string[] = []): string {
  const cdf = lineChart(
    runs.map((r) => ({ name: r.label, points: r.series.latencyCdf })),
    { title: "Latency CDF (client side)", xLabel: "latency (ms, log scale)", yLabel: "fraction of invocations", logX: true },
  );
  const cold = lineChart(
    runs.map((r) => ({ name: r.label, points: r.series.coldOverTime.map((b) => [b.tSec, b.cold] as const) })),
    { title: "Cold starts per 10 s", xLabel: "replay time (s)", yLabel: "cold starts" },
  );
  const memory = lineChart(
    runs.map((r) => ({ name: r.label, points: r.series.memoryOverTime.map((p) => [p.tSec, p.mb] as const), step: true })),
    { title: "Memory held by containers", xLabel: "replay time (s)", yLabel: "MB" },
  );
  // The Markdown tables, as HTML tables: one source for both formats.
  const body = renderMarkdown(runs, notes)
    .split("\n")
    .reduce<{ html: string[]; rows: string[][] | undefined }>(
      (acc, line) => {
        if (line.startsWith("|")) {
          if (/^\|(-+\|)+$/.test(line)) return acc;
          (acc.rows ??= []).push(line.slice(1, -1).split(" | ").map((c) => c.trim()));
          return acc;
        }
        if (acc.rows) {
          const [head, ...rest] = acc.rows;
          acc.html.push(`<table><tr>${head.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>${rest.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("")}</table>`);
          acc.rows = undefined;
        }
        if (line.startsWith("# ")) acc.html.push(`<h1>${escapeHtml(line.slice(2))}</h1>`);
        else if (line.startsWith("## ")) acc.html.push(`<h2>${escapeHtml(line.slice(3))}</h2>`);
        else if (line.trim()) acc.html.push(`<p>${escapeHtml(line)}</p>`);
        return acc;
      },
      { html: [], rows: undefined },
    ).html;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Replay report</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{margin:1em 0}</style>
</head><body>
${body.join("\n")}
<h2>Plots</h2>
<figure>${cdf}</figure>
<figure>${cold}</figure>
<figure>${memory}</figure>
</body></html>
`;
}
