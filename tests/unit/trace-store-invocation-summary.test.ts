import test from "ava";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { InvocationSummarizer, type InvocationSample } from "../../services/trace-store/invocation-summary.js";

function sample(startKind: StartKind, totalUs: number, extra: Partial<InvocationSample> = {}): InvocationSample {
  return { startKind, status: InvocationStatus.OK, queuedUs: 10, startupUs: 0, initUs: 0, execUs: totalUs - 10, totalUs, ...extra };
}

const untimed = (startKind: StartKind, status: InvocationStatus): InvocationSample => ({
  startKind,
  status,
  queuedUs: null,
  startupUs: null,
  initUs: null,
  execUs: null,
  totalUs: null,
});

test("an empty set has one all-zero whole-set entry", (t) => {
  const s = new InvocationSummarizer().result();
  t.is(s.invocations, 0);
  t.is(s.errors, 0);
  t.is(s.coldStarts, 0);
  t.is(s.latency.length, 1);
  t.like(s.latency[0], { startKind: StartKind.UNSPECIFIED, count: 0, p50Us: 0, p99Us: 0, meanExecUs: 0 });
});

test("counts, percentiles and means per start kind and for the whole set", (t) => {
  const summarizer = new InvocationSummarizer();
  // Added out of order: the summarizer must sort before ranking.
  for (const total of [400, 100, 300, 200]) summarizer.add(sample(StartKind.COLD, total, { startupUs: 50 }));
  for (const total of [60, 10, 50, 20, 40, 30]) summarizer.add(sample(StartKind.WARM, total));
  summarizer.add(sample(StartKind.WARM, 70, { status: InvocationStatus.FUNCTION_ERROR }));
  const s = summarizer.result();

  t.is(s.invocations, 11);
  t.is(s.errors, 1);
  t.is(s.coldStarts, 4);
  t.deepEqual(
    s.latency.map((l) => l.startKind),
    [StartKind.UNSPECIFIED, StartKind.COLD, StartKind.WARM],
  );
  const [all, cold, warm] = s.latency;
  // All totals sorted: 10 20 30 40 50 60 70 100 200 300 400; ranks ceil(.5·11)=6, ceil(.95·11)=11.
  t.like(all, { count: 11, p50Us: 60, p95Us: 400, p99Us: 400, meanQueuedUs: 10 });
  t.like(cold, { count: 4, p50Us: 200, p95Us: 400, p99Us: 400, meanStartupUs: 50, meanExecUs: 240 });
  t.like(warm, { count: 7, p50Us: 40, p95Us: 70, meanStartupUs: 0, meanExecUs: 30 });
});

test("records without timings count but stay out of the latency figures", (t) => {
  const summarizer = new InvocationSummarizer();
  summarizer.add(sample(StartKind.COLD, 1000));
  summarizer.add(untimed(StartKind.COLD, InvocationStatus.PLATFORM_ERROR));
  summarizer.add(untimed(StartKind.UNSPECIFIED, InvocationStatus.PLATFORM_ERROR));
  const s = summarizer.result();
  t.is(s.invocations, 3);
  t.is(s.errors, 2);
  t.is(s.coldStarts, 2);
  t.like(s.latency[0], { count: 1, p50Us: 1000 });
  t.like(s.latency[1], { startKind: StartKind.COLD, count: 1, p50Us: 1000 });
});

test("records without a start kind only appear in the whole set", (t) => {
  const summarizer = new InvocationSummarizer();
  summarizer.add(sample(StartKind.UNSPECIFIED, 5));
  summarizer.add(sample(StartKind.HELPER, 7));
  const s = summarizer.result();
  t.deepEqual(
    s.latency.map((l) => [l.startKind, l.count]),
    [
      [StartKind.UNSPECIFIED, 2],
      [StartKind.HELPER, 1],
    ],
  );
});

test("means are rounded to whole microseconds", (t) => {
  const summarizer = new InvocationSummarizer();
  summarizer.add(sample(StartKind.WARM, 11, { queuedUs: 1 }));
  summarizer.add(sample(StartKind.WARM, 12, { queuedUs: 2 }));
  t.is(summarizer.result().latency[0].meanQueuedUs, 2);
});
