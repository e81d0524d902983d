// The burst load generator end to end: a fresh mesh per policy, every invocation run once, and the
// figures of its report taken from the answers and from trace-store.
import test from "ava";
import { renderBurstTable, runBurst, type BurstOptions } from "../../loadgen/burst.js";

const o: BurstOptions = { fn: "io-journal", n: 6, work: 0.01, concurrency: 8, workers: 1, policies: ["vanilla", "vanilla-openwhisk", "faasbatch"], env: {} };

test("a burst runs every invocation once per policy and reports latency, containers and memory-seconds", async (t) => {
  const results = [];
  for (const policy of o.policies) {
    const r = await runBurst(o, policy);
    t.is(r.ok, o.n, `${policy}: all ${o.n} answered OK`);
    t.is(r.errors, 0);
    t.true(r.containers >= 1 && r.containers <= o.n, `${policy}: ${r.containers} containers`);
    t.true(r.p50Ms > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.totalMs);
    t.true(r.memoryGbSeconds > 0 && r.costUsd > 0);
    t.true(r.billedGbSeconds > 0 && r.billedGbSeconds <= r.memoryGbSeconds, `${policy}: billed ${r.billedGbSeconds} of ${r.memoryGbSeconds} GB·s held`);
    t.true(r.slowestColdStartupMs > 0, "the burst started its containers COLD");
    results.push(r);
  }
  const table = renderBurstTable(o, results);
  t.regex(table, /\| vanilla \| 6 \| 0 \|/);
  t.regex(table, /\| faasbatch \| 6 \| 0 \|/);
  t.regex(table, /\| vanilla-openwhisk \| 6 \| 0 \|/);
});
