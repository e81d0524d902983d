import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import test from "ava";
import { ContainerState, ContainerUsageSampledSchema } from "../../gen/faas/events/v1/events_pb.js";
import { ContainerEventStore } from "../../services/trace-store/container-event-store.js";
import { openDatabase, type Db } from "../../services/trace-store/database.js";
import { everything } from "../../services/trace-store/record-filter.js";
import { usageSampleProblem, UsageSampleStore } from "../../services/trace-store/usage-sample-store.js";
import { containerEvent, removeTempDir, SECOND_US, T0_US, tempDir } from "./trace-store-fixtures.js";

const dir = tempDir("trace-store-usage");
const opened: Db[] = [];
let fileNumber = 0;

function freshStores() {
  const db = openDatabase(path.join(dir, `store-${++fileNumber}.db`));
  opened.push(db);
  return { events: new ContainerEventStore(db), samples: new UsageSampleStore(db), db };
}

test.after.always(() => {
  for (const db of opened) if (db.open) db.close();
  removeTempDir(dir);
});

const at = (seconds: number) => T0_US + seconds * SECOND_US;
const MB = 1024 * 1024;
const FAR_FUTURE = at(1_000_000);

function sample(seconds: number, containers: Record<string, number>, nodeId = "node-1") {
  return create(ContainerUsageSampledSchema, {
    nodeId,
    atUnixUs: BigInt(at(seconds)),
    containers: Object.entries(containers).map(([containerId, mb]) => ({ containerId, rssBytes: BigInt(mb * MB), memoryMb: 256 })),
  });
}

test("samples are stored once, whatever the redeliveries", (t) => {
  const { samples, db } = freshStores();
  const first = sample(1, { c1: 10, c2: 20 });
  t.deepEqual(samples.recordSamples([first, sample(2, { c1: 11 }), first]), [2, 1, 0]);
  t.is((db.prepare("SELECT COUNT(*) AS n FROM container_usage_samples").get() as { n: number }).n, 3);
});

test("RSS memory-time follows the samples inside each container's lifetime, per function and window", (t) => {
  const { events, samples } = freshStores();
  events.recordEvents([
    containerEvent(1, at(0), ContainerState.STARTING, { containerId: "a", function: "resize" }),
    containerEvent(2, at(10), ContainerState.REMOVED, { containerId: "a", function: "resize" }),
    containerEvent(3, at(5), ContainerState.STARTING, { containerId: "b", function: "thumb" }),
  ]);
  samples.recordSamples([
    sample(1, { a: 100 }),
    sample(4, { a: 40 }),
    sample(6, { a: 50, b: 30 }),
    // After a's removal: a's last sample ends at REMOVED, not here.
    sample(12, { b: 10, ghost: 1000 }),
  ]);
  const now = at(20);
  // a: 3 s x 100 + 2 s x 40 + 4 s x 50; b: 6 s x 30 + 8 s x 10 (until now); ghost: no lifetime, not counted.
  t.is(samples.rssMbSeconds(everything, now), 300 + 80 + 200 + 180 + 80);
  t.is(samples.rssMbSeconds({ function: "resize", sinceUs: null, untilUs: null }, now), 300 + 80 + 200);
  // [5 s, 8 s): a holds 40 MB from its sample at 4 s until 6 s, then 50; b starts sampled at 6 s.
  t.is(samples.rssMbSeconds({ function: null, sinceUs: at(5), untilUs: at(8) }, now), 40 + 2 * 50 + 2 * 30);
  // A window before any sample, and one after a's removal for a alone.
  t.is(samples.rssMbSeconds({ function: null, sinceUs: at(0), untilUs: at(1) }, now), 0);
  t.is(samples.rssMbSeconds({ function: "resize", sinceUs: at(11), untilUs: at(30) }, now), 0);
  // A living container's last sample holds until now.
  const later = samples.rssMbSeconds({ function: "thumb", sinceUs: null, untilUs: null }, FAR_FUTURE);
  t.true(Math.abs(later - (6 * 30 + (1_000_000 - 12) * 10)) < 1e-6, String(later));
});

test("sample messages that cannot be stored are named", (t) => {
  t.is(usageSampleProblem(sample(1, { c1: 1 })), undefined);
  t.regex(usageSampleProblem(sample(1, { c1: 1 }, ""))!, /node_id/);
  t.regex(usageSampleProblem(create(ContainerUsageSampledSchema, { nodeId: "n", atUnixUs: 0n }))!, /at_unix_us/);
  t.regex(usageSampleProblem(sample(1, { "": 1 }))!, /container_id/);
  t.regex(usageSampleProblem(create(ContainerUsageSampledSchema, { nodeId: "n", atUnixUs: 1n, containers: [{ containerId: "c", rssBytes: 2n ** 60n }] }))!, /rss_bytes/);
});
