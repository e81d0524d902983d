// The fault matrix on real processes (nats-server, the five services, Docker), at a rate a busy 2-core
// CI machine sustains next to other test files: each fault is injected under load and every accepted
// invocation must end with a record, no call may hang, and each fault's own check must hold. The same
// matrix at 200 invocations/s is `npm run faults` (README: "Faults survived").
import test from "ava";
import { FAULTS, runFaultMatrix, type FaultResult } from "../../loadgen/faults/matrix.js";
import { faultTable } from "../../loadgen/faults/report.js";
import { useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test);
let results: FaultResult[] = [];

test.serial.before(async () => {
  results = await runFaultMatrix(ctx.mesh, { rate: 40, durationMs: 8000, hangMs: 60_000, settleMs: 90_000 });
});

test.serial("the fault report covers every fault", (t) => {
  t.log(`\n${faultTable(results)}`);
  t.deepEqual(
    results.map((r) => r.fault),
    FAULTS.map((f) => f.name),
  );
});

for (const fault of FAULTS) {
  test.serial(`${fault.name}: ${fault.title}: every accepted invocation ends with a record, none hangs`, (t) => {
    const r = results.find((x) => x.fault === fault.name)!;
    t.true(r.accepted > 0, "invocations were accepted");
    t.is(r.lost, 0, "accepted invocations without a record");
    t.is(r.hung, 0, "calls that hung");
    t.is(r.recorded, r.accepted);
    t.deepEqual(r.failures, []);
  });
}

test.serial("the faults did happen: containers adopted, in-flight calls ended with clear errors, timeouts fired", (t) => {
  const byName = new Map(results.map((r) => [r.fault, r]));
  const nm = byName.get("node-manager-kill")!;
  t.true(Number(nm.notes.adopted) > 0 && nm.notes.adopted === nm.notes.containersBefore, "node-manager adopted its containers");
  const ck = byName.get("container-kill")!;
  t.not(ck.notes.killed, "none");
  // A call cut off by a killed container ends with UNAVAILABLE (its record: PLATFORM_ERROR/ContainerFailed), never silently.
  for (const code of Object.keys(ck.answers)) t.true(["OK", "UNAVAILABLE", "RESOURCE_EXHAUSTED"].includes(code), `answer ${code}`);
  const hung = byName.get("hung-function")!;
  t.true((hung.records.TIMEOUT ?? 0) > 0, "timeouts fired");
  t.true((hung.answers.DEADLINE_EXCEEDED ?? 0) > 0, "hung calls answered DEADLINE_EXCEEDED");
  const nats = byName.get("nats-restart")!;
  t.is(nats.asyncDone, nats.accepted, "every accepted async invocation has its result");
});
