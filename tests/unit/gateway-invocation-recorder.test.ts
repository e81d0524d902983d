// The gateway's record buffer: recorded() answers only once trace-store has taken every record added
// before it was asked, and gives up at its timeout with the records still buffered and retried.
import test from "ava";
import { create } from "@bufbuild/protobuf";
import pino from "pino";
import { InvocationRecordSchema, type InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";
import { InvocationRecorder } from "../../services/gateway/invocation-recorder.js";

/** A trace-store client whose calls complete when the test says so. */
function heldClient() {
  const calls: Array<{ records: InvocationRecord[]; answer: (ok: boolean) => void }> = [];
  const client = {
    recordInvocations: (req: { records: InvocationRecord[] }) =>
      new Promise((resolve, reject) => calls.push({ records: req.records, answer: (ok) => (ok ? resolve({}) : reject(new Error("trace-store down"))) })),
  };
  return { client, calls };
}

/** A recorder that flushes at once, over a held client. */
function heldRecorder() {
  const { client, calls } = heldClient();
  const recorder = new InvocationRecorder({ client: client as never, logger: pino({ level: "silent" }), flushIntervalMs: 1, maxBatch: 100 });
  return { recorder, calls };
}

const record = (id: string) => create(InvocationRecordSchema, { invocationId: id });
const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 30))]);
const until = async (f: () => boolean) => {
  while (!f()) await new Promise((r) => setTimeout(r, 1));
};

test("recorded() resolves true only after the records added before it are delivered", async (t) => {
  const { recorder, calls } = heldRecorder();
  recorder.add(record("a"));
  const waiting = recorder.recorded(10_000);
  await until(() => calls.length === 1);
  t.false(await settled(waiting), "not while the batch is in flight");
  recorder.add(record("b")); // after the question: not waited for
  calls[0].answer(true);
  t.true(await waiting);
  const later = recorder.recorded(10_000);
  await until(() => calls.length === 2);
  t.deepEqual(calls[1].records.map((r) => r.invocationId), ["b"]);
  t.false(await settled(later), "b is not delivered yet");
  calls[1].answer(true);
  t.true(await later);
});

test("a failed batch is retried, and recorded() waits through the retry", async (t) => {
  const { recorder, calls } = heldRecorder();
  recorder.add(record("a"));
  const waiting = recorder.recorded(10_000);
  await until(() => calls.length === 1);
  calls[0].answer(false);
  await until(() => calls.length === 2);
  t.deepEqual(calls[1].records.map((r) => r.invocationId), ["a"], "the same record again");
  t.false(await settled(waiting));
  calls[1].answer(true);
  t.true(await waiting);
  t.is(recorder.delivered, 1);
});

test("recorded() answers false at its timeout, and the record stays buffered", async (t) => {
  const { recorder, calls } = heldRecorder();
  recorder.add(record("a"));
  t.false(await recorder.recorded(20));
  t.is(recorder.backlog, 1);
  await until(() => calls.length === 1);
  calls[0].answer(true);
  await until(() => recorder.delivered === 1);
  t.true(await recorder.recorded(20), "nothing left: true at once");
});
