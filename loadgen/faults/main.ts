// Runs the fault matrix against a fresh local mesh and prints, per fault, invocations accepted and
// records ended (a table, then the JSON).
//   npm run faults -- [--rate 200] [--seconds 12] [--only node-manager-kill,nats-restart] [--json FILE]
// Exit status 1 when any fault lost an accepted invocation, left a call hanging or failed its own check.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalMesh } from "../../scripts/local-mesh.js";
import { FAULTS, runFaultMatrix } from "./matrix.js";
import { faultTable } from "./report.js";

function parseArgs(argv: string[]) {
  const a = { rate: 200, seconds: 12, only: undefined as string[] | undefined, json: "" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = () => {
      const v = Number(value());
      if (!(v > 0)) throw new Error(`${flag} must be a positive number`);
      return v;
    };
    switch (flag) {
      case "--rate":
        a.rate = positive();
        break;
      case "--seconds":
        a.seconds = positive();
        break;
      case "--only":
        a.only = value().split(",");
        for (const name of a.only) if (!FAULTS.some((f) => f.name === name)) throw new Error(`unknown fault ${name}; faults: ${FAULTS.map((f) => f.name).join(", ")}`);
        break;
      case "--json":
        a.json = value();
        break;
      default:
        throw new Error(`unknown flag ${flag}; usage: npm run faults -- [--rate 200] [--seconds 12] [--only a,b] [--json FILE]`);
    }
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
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

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
