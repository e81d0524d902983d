import test from "ava";
import { create } from "@bufbuild/protobuf";
import { StartKind, TimingsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerState, ContainerStateChangedSchema } from "../../gen/faas/events/v1/events_pb.js";
import { InvocationRecordSchema } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { buildRunReport, memoryOverTime, percentiles } from "../../loadgen/report/run-report.js";
import { renderHtml, renderMarkdown } from "../../loadgen/report/render.js";
import { lineChart, niceTicks } from "../../loadgen/report/svg-chart.js";
import { dispatch, type SchedulerClock } from "../../loadgen/replay/scheduler.js";
import type { ReplayRun } from "../../loadgen/replay/replayer.js";

test("dispatch starts every arrival at its time, in order, never early, and measures lag", async (t) => {
  const fired: Array<{ item: number; at: number }> = [];
  const clock: SchedulerClock = { now: () => performance.now() };
  const start = clock.now();
  const arrivals = [0, 0, 5, 20, 20.5, 40].map((atMs, item) => ({ atMs, item }));
  const stats = await dispatch(arrivals, (item) => fired.push({ item, at: clock.now() - start }), { clock, startMs: start });
  t.is(stats.dispatched, 6);
  t.deepEqual(fired.map((f) => f.item), [0, 1, 2, 3, 4, 5]);
  fired.forEach((f, i) => t.true(f.at >= arrivals[i].atMs - 0.01, `arrival ${i} fired at ${f.at} before ${arrivals[i].atMs}`));
  t.true(stats.lagMs.every((l) => l >= 0));
});

test("dispatch never waits for what it started (open loop) and stops on abort", async (t) => {
  const controller = new AbortController();
  let started = 0;
  const arrivals = Array.from({ length: 100 }, (_, i) => ({ atMs: i < 10 ? 0 : 60_000, item: i }));
  const done = dispatch(arrivals, () => {
    started++;
    if (started === 10) setTimeout(() => controller.abort(), 10);
  }, { signal: controller.signal });
  const stats = await done;
  t.is(stats.dispatched, 10);
});

test("percentiles are nearest-rank over sorted values", (t) => {
  t.deepEqual(percentiles([5, 1, 4, 2, 3]), { count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
  t.deepEqual(percentiles([]), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
});

test("memory held over time follows container lifetimes, REMOVED releasing what was held", (t) => {
  const ev = (id: string, state: ContainerState, atMs: number, mb = 256) =>
    create(ContainerStateChangedSchema, { nodeId: "n", containerId: id, state, memoryMb: mb, atUnixUs: BigInt(atMs) * 1000n });
  const series = memoryOverTime([ev("a", ContainerState.STARTING, 1000), ev("b", ContainerState.STARTING, 2000, 128), ev("a", ContainerState.IDLE, 2500), ev("a", ContainerState.REMOVED, 4000)], 0);
  t.deepEqual(series.map((p) => [p.tSec, p.mb]), [[0, 0], [1, 256], [2, 384], [2.5, 384], [4, 128]]);
});

function fakeRun(): ReplayRun {
  const results = [
    { invocationId: "i1", status: "OK", startKind: StartKind.COLD, execUs: 100, functionId: "f", fn: "bench-x", intendedAtMs: 0, lagMs: 0.1, latencyMs: 800 },
    { invocationId: "i2", status: "OK", startKind: StartKind.WARM, execUs: 100, functionId: "f", fn: "bench-x", intendedAtMs: 12_000, lagMs: 0.2, latencyMs: 10 },
    { invocationId: "", status: "RESOURCE_EXHAUSTED", startKind: StartKind.UNSPECIFIED, execUs: 0, functionId: "f", fn: "bench-x", intendedAtMs: 13_000, lagMs: 0.3, latencyMs: 1 },
  ];
  return { label: "keepalive", results, lagMs: Float64Array.from([0.1, 0.2, 0.3]), startedAtUnixMs: 1_000_000, endedAtUnixMs: 1_020_000 };
}

test("a run report joins client results with trace-store records and renders to Markdown and self-contained HTML", (t) => {
  const rec = (id: string, kind: StartKind, startupUs: bigint) =>
    create(InvocationRecordSchema, { invocationId: id, startKind: kind, timings: create(TimingsSchema, { startupUs, execUs: 100n, totalUs: startupUs + 200n }) });
  const report = buildRunReport(fakeRun(), "test workload", {
    records: new Map([["i1", rec("i1", StartKind.COLD, 700_000n)], ["i2", rec("i2", StartKind.WARM, 0n)]]),
    events: [],
    containersCreated: 1,
    memoryMbSeconds: 2048,
  });
  t.is(report.invocations, 3);
  t.is(report.errors, 1);
  t.deepEqual(report.errorsByStatus, { RESOURCE_EXHAUSTED: 1 });
  t.is(report.coldStarts, 1);
  t.is(report.recordsMatched, 2);
  t.is(report.recordsMissing, 0);
  t.is(report.breakdown.byKind.COLD.startupMs, 700);
  t.is(report.latency.byKind.WARM.p50, 10);
  t.deepEqual(report.series.coldOverTime, [{ tSec: 0, total: 1, cold: 1 }, { tSec: 10, total: 2, cold: 0 }]);
  const md = renderMarkdown([report]);
  t.regex(md, /\| keepalive \| 3 \| 1 \(RESOURCE_EXHAUSTED 1\) \| 1 \(33\.3%\) \| 1 \|/);
  const html = renderHtml([report, { ...report, label: "other" }]);
  t.regex(html, /^<!doctype html>/);
  t.is((html.match(/<svg /g) ?? []).length, 3);
  t.notRegex(html, /<script|https?:\/\/(?!www\.w3\.org)/, "nothing to fetch");
  t.regex(html, /<td>other<\/td>/);
});

test("chart ticks are round and the chart draws one path per series", (t) => {
  t.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  t.deepEqual(niceTicks(0, 0.9), [0, 0.2, 0.4, 0.6, 0.8]);
  const svg = lineChart([{ name: "a", points: [[1, 0], [10, 0.5], [100, 1]] }, { name: "b<", points: [[2, 0.1], [20, 1]] }], { title: "t", xLabel: "x", yLabel: "y", logX: true });
  t.is((svg.match(/<path /g) ?? []).length, 2);
  t.regex(svg, /b&lt;/);
});

test("cold starts on a function's first arrival are counted apart", (t) => {
  const r = (fn: string, startKind: StartKind, intendedAtMs: number) => ({ invocationId: "", status: "OK", startKind, execUs: 1, functionId: fn, fn, intendedAtMs, lagMs: 0, latencyMs: 1 });
  // Results come in completion order: b's later COLD finishes before its first arrival's HELPER start.
  const results = [r("a", StartKind.COLD, 0), r("b", StartKind.COLD, 9000), r("b", StartKind.HELPER, 1000), r("a", StartKind.COLD, 5000), r("c", StartKind.COLD, 2000)];
  const report = buildRunReport({ label: "p", results, lagMs: new Float64Array(5), startedAtUnixMs: 0, endedAtUnixMs: 1 }, "w", { records: new Map(), events: [], containersCreated: 0, memoryMbSeconds: 0 });
  t.is(report.coldStarts, 4);
  t.is(report.firstArrivalColdStarts, 2, "a's and c's first arrivals; b's first was a HELPER start");
});
