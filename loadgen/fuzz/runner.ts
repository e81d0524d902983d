// Runs N cases against the gateway with C in flight, judges each answer, and counts: requests per
// protocol, the distribution of codes, hangs, broken answers, findings (wrong or imprecise codes).
import { generateCase, type FuzzCase } from "./cases.js";
import { SideEffectGuard } from "./guard.js";
import { judge } from "./oracle.js";
import type { FuzzTarget } from "./target.js";
import { FuzzTransport } from "./transport.js";

export interface FuzzOptions {
  readonly requests: number;
  readonly seed: number;
  readonly concurrency: number;
  /** Bound on one answer; past it the request is a hang. */
  readonly timeoutMs: number;
  /** Run only these case indexes (a replay). */
  readonly only?: readonly number[];
  /** HTTP/2 sessions the h2 cases share. */
  readonly sessions?: number;
  /** Called every `progressEvery` requests. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly progressEvery?: number;
  /** Is the gateway process still running? Checked during the run: a crash stops it. */
  readonly alive?: () => boolean;
}

export interface Failure {
  readonly index: number;
  readonly label: string;
  readonly code: string;
  readonly problem: string;
  readonly ms: number;
}

export interface FuzzStats {
  readonly seed: number;
  requests: number;
  readonly protocols: Record<string, number>;
  readonly codes: Record<string, number>;
  /** The first case that got each code: `--seed S --only I` replays it. */
  readonly firstCaseByCode: Record<string, number>;
  /** Codes per protocol (grpc/h2, connect-json/h1, ...). */
  readonly codesByProtocol: Record<string, Record<string, number>>;
  hangs: number;
  /** Cases the fuzzer failed to generate (its own bugs). */
  generatorErrors: number;
  /** Requests whose answer broke off, or that got none. */
  incomplete: number;
  /** Answers with a wrong, imprecise or unexpected code. */
  wrongAnswers: number;
  /** Mutated deploys/deletes made harmless (guard.ts). */
  defused: number;
  http2SessionFailures: number;
  /** Streams the fuzzer reset: answered before their body was sent, or hung. */
  http2Resets: number;
  /** Failures by kind (the problem without its numbers, and the protocol): a count and the first examples. */
  readonly findings: Record<string, { count: number; examples: Failure[] }>;
  elapsedMs: number;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** The slowest answers (a hang is one past the bound). */
  readonly slowest: Array<{ index: number; label: string; code: string; ms: number }>;
  /** The gateway died during the run. */
  gatewayDied: boolean;
}

const EXAMPLES_PER_FINDING = 5;
const SLOWEST = 5;

/** "expected unauthenticated, got ok | grpc/h2": one finding however many requests show it. */
function findingKey(problem: string, flavor: string): string {
  return `${problem.replace(/"[^"]*"/g, '"…"').replace(/\d+(\.\d+)?/g, "N").slice(0, 120)} | ${flavor}`;
}

const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

function flavorOf(c: FuzzCase): string {
  return c.label.split(" ")[0];
}

export async function runFuzz(target: FuzzTarget, o: FuzzOptions): Promise<FuzzStats> {
  const guard = new SideEffectGuard(target);
  const transport = new FuzzTransport(target.url, o.sessions ?? 4, o.concurrency, o.timeoutMs);
  const stats: FuzzStats = {
    seed: o.seed,
    requests: 0,
    protocols: {},
    codes: {},
    firstCaseByCode: {},
    codesByProtocol: {},
    hangs: 0,
    generatorErrors: 0,
    incomplete: 0,
    wrongAnswers: 0,
    defused: 0,
    http2SessionFailures: 0,
    http2Resets: 0,
    findings: {},
    elapsedMs: 0,
    rps: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    slowest: [],
    gatewayDied: false,
  };
  const indexes = o.only ?? Array.from({ length: o.requests }, (_, i) => i);
  const latencies = new Float64Array(indexes.length);
  let cursor = 0;
  const started = performance.now();
  const every = o.progressEvery ?? 5000;

  const worker = async () => {
    for (;;) {
      if (stats.gatewayDied) return;
      const slot = cursor++;
      if (slot >= indexes.length) return;
      let c: FuzzCase;
      try {
        c = generateCase(o.seed, indexes[slot], target, guard);
      } catch (err) {
        // A bug of the fuzzer, not of the gateway: counted and shown, and the run goes on.
        stats.generatorErrors++;
        const f = (stats.findings[`fuzzer error: ${(err as Error).message.slice(0, 100)}`] ??= { count: 0, examples: [] });
        f.count++;
        if (f.examples.length < EXAMPLES_PER_FINDING) f.examples.push({ index: indexes[slot], label: "(not generated)", code: "none", problem: String((err as Error).stack).slice(0, 400), ms: 0 });
        continue;
      }
      const answer = await transport.send(c);
      const v = judge(c, answer);
      latencies[slot] = answer.ms;
      stats.requests++;
      const flavor = flavorOf(c);
      bump(stats.protocols, flavor);
      bump(stats.codes, v.code);
      stats.firstCaseByCode[v.code] ??= c.index;
      bump((stats.codesByProtocol[flavor] ??= {}), v.code);
      if (stats.slowest.length < SLOWEST || answer.ms > stats.slowest[stats.slowest.length - 1].ms) {
        stats.slowest.push({ index: c.index, label: c.label, code: v.code, ms: Math.round(answer.ms) });
        stats.slowest.sort((x, y) => y.ms - x.ms);
        if (stats.slowest.length > SLOWEST) stats.slowest.pop();
      }
      if (v.problem) {
        if (v.hang) stats.hangs++;
        else if (v.code === "none") stats.incomplete++;
        else stats.wrongAnswers++;
        const f = (stats.findings[findingKey(v.problem, flavor)] ??= { count: 0, examples: [] });
        f.count++;
        if (f.examples.length < EXAMPLES_PER_FINDING) f.examples.push({ index: c.index, label: c.label, code: v.code, problem: v.problem.slice(0, 400), ms: Math.round(answer.ms) });
      }
      if (stats.requests % every === 0) {
        o.onProgress?.(stats.requests, indexes.length);
        if (o.alive && !o.alive()) stats.gatewayDied = true;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  } finally {
    transport.close();
  }
  if (o.alive && !o.alive()) stats.gatewayDied = true;
  stats.elapsedMs = Math.round(performance.now() - started);
  stats.rps = Math.round((stats.requests / stats.elapsedMs) * 1000);
  stats.defused = guard.defused;
  stats.http2SessionFailures = transport.sessionFailures;
  stats.http2Resets = transport.resets;
  const sorted = Array.from(latencies.subarray(0, stats.requests)).sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10 : 0);
  stats.latencyMs = { p50: at(0.5), p99: at(0.99), max: at(1) };
  return stats;
}
