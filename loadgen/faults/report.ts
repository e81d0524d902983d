// The fault report's table: per fault, invocations accepted and records ended, so "nothing lost" is a
// number anyone can re-check.
import type { FaultResult } from "./matrix.js";

const counts = (m: Readonly<Record<string, number>>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

export function faultTable(results: readonly FaultResult[]): string {
  const rows = results.map((r) =>
    [
      r.fault,
      r.rate,
      r.calls,
      r.accepted,
      r.recorded,
      r.lost,
      r.hung,
      r.asyncDone ?? "",
      counts(r.answers),
      counts(r.records),
      Object.entries(r.notes).map(([k, v]) => `${k}=${v}`).join(" "),
      r.passed ? "pass" : `FAIL: ${r.failures.join("; ")}`,
    ].join(" | "),
  );
  return [
    "| fault | inv/s | calls | accepted | records | lost | hung | async done | answers | records by status | notes | verdict |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
  ].join("\n");
}
