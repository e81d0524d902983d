// Fuzzes the gateway of a fresh local mesh and prints a JSON summary.
//   npm run fuzz -- [--requests 100000] [--seed S] [--concurrency 32] [--timeout-ms 10000]
//                   [--header 'name: value' ...] [--only I,J,...] [--keep]
// Starts the mesh (tests' settings: small code uploads so oversize requests stay small), deploys the
// no-op and echo functions, sends the cases, then checks that the gateway is alive, /healthz answers
// and a normal invocation succeeds. Exit status 1 when anything failed; the seed is printed first, so
// `--seed S --only I` replays case I alone.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalMesh } from "../../scripts/local-mesh.js";
import { FUZZ_MESH_ENV, gatewayHealth, gatewayAlive, gatewayRssMb, prepareTarget } from "./mesh-target.js";
import { runFuzz } from "./runner.js";

interface Args {
  requests: number;
  seed: number;
  concurrency: number;
  timeoutMs: number;
  headers: Record<string, string>;
  only?: number[];
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { requests: 100_000, seed: Math.floor(Math.random() * 2 ** 31), concurrency: 32, timeoutMs: 10_000, headers: {}, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    switch (flag) {
      case "--requests":
        a.requests = int();
        break;
      case "--seed":
        a.seed = int();
        break;
      case "--concurrency":
        a.concurrency = Math.max(1, int());
        break;
      case "--timeout-ms":
        a.timeoutMs = int();
        break;
      case "--header": {
        const h = value();
        const at = h.indexOf(":");
        if (at <= 0) throw new Error(`--header wants 'name: value', got ${JSON.stringify(h)}`);
        a.headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
        break;
      }
      case "--only":
        a.only = value().split(",").map((v) => {
          if (!/^\d+$/.test(v.trim())) throw new Error(`--only wants case indexes like 3,17, got ${JSON.stringify(v)}`);
          return Number(v);
        });
        break;
      case "--keep":
        a.keep = true;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  process.stderr.write(`fuzz: seed ${args.seed} (replay: npm run fuzz -- --seed ${args.seed} --requests ${args.requests})\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-fuzz-"));
  const mesh = await LocalMesh.start({ dir, env: FUZZ_MESH_ENV });
  try {
    const target = await prepareTarget(mesh, args.headers);
    const rssBefore = gatewayRssMb(mesh);
    process.stderr.write(`fuzz: mesh up in ${dir}, gateway ${target.url}, ${target.apiKey ? "with" : "without"} an API key; ${args.only?.length ?? args.requests} requests, ${args.concurrency} in flight\n`);
    const stats = await runFuzz(target, {
      requests: args.requests,
      seed: args.seed,
      concurrency: args.concurrency,
      timeoutMs: args.timeoutMs,
      only: args.only,
      alive: () => gatewayAlive(mesh),
      onProgress: (done, total) => process.stderr.write(`fuzz: ${done}/${total}\n`),
    });
    const health = await gatewayHealth(mesh, target);
    const crashes = [...mesh.services.values()].filter((s) => s.child.exitCode !== null || s.child.signalCode !== null).map((s) => s.name);
    const summary = {
      seed: stats.seed,
      requests: stats.requests,
      concurrency: args.concurrency,
      /** Whether the calls carried the mesh's API key (and the bad-key cases had to get UNAUTHENTICATED). */
      authenticated: target.apiKey !== undefined,
      elapsedMs: stats.elapsedMs,
      rps: stats.rps,
      latencyMs: stats.latencyMs,
      slowest: stats.slowest,
      protocols: stats.protocols,
      codes: stats.codes,
      codesByProtocol: stats.codesByProtocol,
      firstCaseByCode: stats.firstCaseByCode,
      hangs: stats.hangs,
      crashes: crashes.length + (stats.gatewayDied && !crashes.includes("gateway") ? 1 : 0),
      crashed: crashes,
      incomplete: stats.incomplete,
      generatorErrors: stats.generatorErrors,
      wrongAnswers: stats.wrongAnswers,
      defused: stats.defused,
      http2SessionFailures: stats.http2SessionFailures,
      http2Resets: stats.http2Resets,
      gateway: { ...health, rssMbBefore: rssBefore },
      findings: stats.findings,
      logs: args.keep ? path.join(dir, "logs") : undefined,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    const ok = stats.hangs === 0 && stats.generatorErrors === 0 && crashes.length === 0 && stats.incomplete === 0 && stats.wrongAnswers === 0 && health.alive && health.healthz === 200 && health.invokeOk;
    return ok ? 0 : 1;
  } finally {
    await mesh.stop();
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`fuzz: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
