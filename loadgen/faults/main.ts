// Runs the fault matrix against a fresh local mesh and prints, per fault, invocations accepted and
// records ended (a table, then the JSON).
//   npm run faults -- [--rate 200] [--seconds 12] [--only node-manager-kill,nats-restart] [--json FILE]
// Exit status 1 when any fault lost an accepted invocation, left a call hanging or failed its own check.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs as parseFlags } from "node:util";
import { LocalMesh } from "../../scripts/local-mesh.js";
import { FAULTS, runFaultMatrix } from "./matrix.js";
import { faultTable } from "./report.js";

function parseArgs(argv: string[]) {
  // strict: an unknown flag or a flag without its value is an error.
  const { values } = parseFlags({ args: argv, strict: true, options: { rate: { type: "string" }, seconds: { type: "string" }, only: { type: "string" }, json: { type: "string" } } });
  const positive = (flag: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--${flag} must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const only = values.only?.split(",");
  for (const name of only ?? []) if (!FAULTS.some((f) => f.name === name)) throw new Error(`unknown fault ${name}; faults: ${FAULTS.map((f) => f.name).join(", ")}`);
  return { rate: positive("rate", values.rate, 200), seconds: positive("seconds", values.seconds, 12), only, json: values.json ?? "" };
}

async function main(args: ReturnType<typeof parseArgs>): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-faults-"));
  console.log(`starting a mesh in ${dir} (logs in ${path.join(dir, "logs")})`);
  const mesh = await LocalMesh.start({ dir });
  try {
    const results = await runFaultMatrix(mesh, {
      rate: args.rate,
      durationMs: args.seconds * 1000,
      only: args.only,
      onResult: (r) => console.log(`${r.passed ? "pass" : "FAIL"} ${r.fault}: ${r.accepted} accepted, ${r.recorded} recorded, ${r.lost} lost, ${r.hung} hung${r.failures.length ? ` — ${r.failures.join("; ")}` : ""}`),
    });
    console.log(`\n${faultTable(results)}\n`);
    const totals = { accepted: sum(results, "accepted"), recorded: sum(results, "recorded"), lost: sum(results, "lost"), hung: sum(results, "hung") };
    const out = { rate: args.rate, seconds: args.seconds, totals, results };
    console.log(JSON.stringify(out, null, 2));
    if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
    return results.every((r) => r.passed) ? 0 : 1;
  } finally {
    await mesh.stop();
    if (!process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const sum = <K extends "accepted" | "recorded" | "lost" | "hung">(rs: readonly { [k in K]: number }[], k: K) => rs.reduce((n, r) => n + r[k], 0);

let args: ReturnType<typeof parseArgs>;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${(err as Error).message}\nusage: npm run faults -- [--rate 200] [--seconds 12] [--only ${FAULTS.map((f) => f.name).join(",")}] [--json FILE]`);
  process.exit(2);
}

main(args).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
