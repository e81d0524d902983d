// The burst report's billed time: per container the union of execution intervals, summed.
import test from "ava";
import { billedSeconds } from "../../loadgen/billed-time.js";

test("overlapping members of one container are billed once, gaps are not billed, containers add up", (t) => {
  const s = billedSeconds([
    { containerId: "a", startUs: 0, endUs: 1_000_000 },
    { containerId: "a", startUs: 500_000, endUs: 1_500_000 },
    { containerId: "a", startUs: 3_000_000, endUs: 3_250_000 },
    { containerId: "b", startUs: 0, endUs: 2_000_000 },
    { containerId: "b", startUs: 100_000, endUs: 200_000 },
  ]);
  t.is(s, 1.5 + 0.25 + 2);
});

test("empty and zero-length intervals bill nothing", (t) => {
  t.is(billedSeconds([]), 0);
  t.is(billedSeconds([{ containerId: "a", startUs: 5, endUs: 5 }]), 0);
});
