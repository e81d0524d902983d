// `npm run bench:replayer`: does the replayer keep up? 1,000 arrivals/s (Poisson) for 10 s through the real
// replay loop (dispatch, progress counters, result keeping) against an in-process target that answers on
// the next turn of the event loop, so only the replayer's own scheduling is measured. Target: lag p99 < 5 ms.
// Reference in the same run: Node's own event-loop delay (perf_hooks), the floor any timer-driven loop has.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { StartKind } from "../gen/faas/common/v1/common_pb.js";
import { replay } from "../loadgen/replay/replayer.js";
import type { ReplayTarget } from "../loadgen/replay/targets.js";
import { percentiles } from "../loadgen/report/run-report.js";

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

// mulberry32: a seeded PRNG, so every run replays the same arrivals.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const random = prng(7);
  const arrivals: Array<{ functionId: string; atMs: number }> = [];
  for (let t = 0; ; ) {
    t += -Math.log(1 - random()) * (1000 / RATE);
    if (t >= SECONDS * 1000) break;
    arrivals.push({ functionId: `f${arrivals.length % 20}`, atMs: t });
  }
  const target: ReplayTarget = {
    name: "in-process",
    invoke: () => new Promise((resolve) => setImmediate(() => resolve({ invocationId: "x", status: "OK", startKind: StartKind.WARM, execUs: 0 }))),
    close() {},
  };
  const payload = new TextEncoder().encode("{}");
  const assignments = new Map(Array.from({ length: 20 }, (_, i) => [`f${i}`, { fn: `f${i}`, payload, timeoutMs: 1000 }]));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const run = await replay({ label: "bench", arrivals, assignments, target, durationMs: SECONDS * 1000, progress: false });
  loop.disable();
  const lag = percentiles(run.lagMs);
  const loopP99 = loop.percentile(99) / 1e6;
  console.log(
    JSON.stringify(
      {
        arrivals: arrivals.length,
        rate_per_s: RATE,
        lag_ms_p50: Number(lag.p50.toFixed(3)),
        lag_ms_p99: Number(lag.p99.toFixed(3)),
        lag_ms_max: Number(lag.max.toFixed(3)),
        event_loop_delay_ms_p99: Number(loopP99.toFixed(3)),
        lag_p99_vs_event_loop_p99: Number((lag.p99 / Math.max(loopP99, 1e-3)).toFixed(2)),
      },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
