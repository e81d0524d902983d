import test from "ava";
import { ContainerRole, ContainerState } from "../../services/node-manager/container.js";
import { jaccard } from "../../common/package-sets.js";
import { percentileNearestRank } from "../../services/node-manager/policies/common.js";
import { histogramWindows } from "../../services/node-manager/policies/histogram.js";
import { createPolicy, isPolicyName, POLICY_NAMES } from "../../services/node-manager/policies/index.js";
import { keepAlivePolicy } from "../../services/node-manager/policies/keepalive.js";
import { pagurusKeptContainers, zygoteKeepAliveMs, zygoteTimeMs, zygoteTimesByLevel } from "../../services/node-manager/policies/pagurus.js";
import type { ContainerView, FunctionView, NodeView, PackageSetView, PolicyAction } from "../../services/node-manager/policies/policy.js";

const K = 600_000;
const m = (o: Record<string, string>) => new Map(Object.entries(o));
const { EXECUTOR, ZYGOTE, HELPER, STEM_CELL } = ContainerRole;
const { STARTING, IDLE, BUSY, REMOVING } = ContainerState;

function ctr(p: Partial<ContainerView> & { id: string }): ContainerView {
  return {
    functionName: "f",
    role: EXECUTOR,
    state: IDLE,
    inflight: 0,
    memoryMb: 128,
    lastUsedAt: 0,
    createdAt: 0,
    roleSince: 0,
    packages: new Map(),
    formerFunction: "",
    ...p,
  };
}

function fn(p: Partial<FunctionView> & { name: string }): FunctionView {
  return { dependencies: new Map(), memoryMb: 128, arrivals: [], arrivalLevels: [], idleTimesMs: [], coldStarts: [], idleSince: undefined, ...p };
}

function view(containers: ContainerView[], functions: FunctionView[] = [], popularSet?: PackageSetView, packageSets: PackageSetView[] = []): NodeView {
  return { containers, functions, memoryCapacityMb: 4096, popularSet, packageSets };
}

/** Actions as short strings: "remove:c1", "become-zygote:c2", "start-stem-cell", "start-zygote:S", "prewarm-executor:f". */
function brief(actions: PolicyAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case "remove":
      case "become-zygote":
        return `${a.kind}:${a.containerId}`;
      case "start-stem-cell":
        return a.kind;
      case "start-zygote":
        return `${a.kind}:${a.setId}`;
      case "prewarm-executor":
        return `${a.kind}:${a.functionName}`;
    }
  });
}

/** Arrivals with the given gaps, starting at t0. */
function arrivalsWithGaps(gaps: number[], t0 = 0): number[] {
  const out = [t0];
  for (const g of gaps) out.push(out[out.length - 1] + g);
  return out;
}

// ---------------------------------------------------------------- helpers

test("nearest-rank percentile and jaccard", (t) => {
  const xs = Array.from({ length: 20 }, (_, i) => (20 - i) * 1000);
  t.is(percentileNearestRank(xs, 95), 19_000);
  t.is(percentileNearestRank(xs, 5), 1_000);
  t.is(percentileNearestRank(xs, 99), 20_000);
  t.is(percentileNearestRank([], 50), undefined);
  t.is(jaccard(m({ a: "1" }), m({ a: "1", b: "1" })), 0.5);
  t.is(jaccard(m({ a: "1" }), m({ a: "2" })), 0);
  t.is(jaccard(m({}), m({})), 1);
});

// ---------------------------------------------------------------- keepalive

test("keepalive removes every role at exactly the threshold, never busy, starting or in-flight ones", (t) => {
  const p = keepAlivePolicy(K);
  const cs = [
    ctr({ id: "e", lastUsedAt: 1000 }),
    ctr({ id: "h", role: HELPER, lastUsedAt: 1000 }),
    ctr({ id: "z", role: ZYGOTE, functionName: "", lastUsedAt: 1000 }),
    ctr({ id: "s", role: STEM_CELL, functionName: "", lastUsedAt: 1000 }),
    ctr({ id: "busy", state: BUSY, inflight: 1, lastUsedAt: 1000 }),
    ctr({ id: "starting", state: STARTING, lastUsedAt: 1000 }),
    ctr({ id: "promised", inflight: 1, lastUsedAt: 1000 }),
    ctr({ id: "removing", state: REMOVING, lastUsedAt: 1000 }),
  ];
  t.deepEqual(brief(p.decide(view(cs), 1000 + K - 1)), []);
  t.deepEqual(brief(p.decide(view(cs), 1000 + K)), ["remove:e", "remove:h", "remove:z", "remove:s"]);
  t.deepEqual(brief(keepAlivePolicy({ keepAliveMs: 10 }).decide(view([ctr({ id: "e", lastUsedAt: 5 })]), 15)), ["remove:e"]);
  t.deepEqual(brief(keepAlivePolicy().decide(view([ctr({ id: "e" })]), K - 1)), []);
  t.deepEqual(brief(keepAlivePolicy().decide(view([ctr({ id: "e" })]), K)), ["remove:e"]);
});

// ---------------------------------------------------------------- prewarm

test("prewarm refills to N stem cells, counting STARTING ones but not REMOVING ones", (t) => {
  const p = createPolicy("prewarm");
  const cell = (id: string, state: ContainerState) => ctr({ id, role: STEM_CELL, functionName: "", state });
  t.deepEqual(brief(p.decide(view([]), 0)), ["start-stem-cell", "start-stem-cell"]);
  t.deepEqual(brief(p.decide(view([cell("s1", STARTING)]), 0)), ["start-stem-cell"]);
  t.deepEqual(brief(p.decide(view([cell("s1", STARTING), cell("s2", STARTING)]), 0)), []);
  t.deepEqual(brief(p.decide(view([cell("s1", IDLE), cell("s2", REMOVING)]), 0)), ["start-stem-cell"]);
  // An executor (a claimed stem cell became one) does not count.
  t.deepEqual(brief(p.decide(view([cell("s1", IDLE), ctr({ id: "e", state: BUSY, inflight: 1 })]), 0)), ["start-stem-cell"]);
  t.deepEqual(brief(createPolicy("prewarm", { stemCells: 3 }).decide(view([cell("s1", IDLE)]), 0)), ["start-stem-cell", "start-stem-cell"]);
});

test("prewarm never removes stem cells for idleness; executors go at the keep-alive threshold", (t) => {
  const p = createPolicy("prewarm", { keepAliveMs: K });
  const cs = [ctr({ id: "s1", role: STEM_CELL, functionName: "" }), ctr({ id: "s2", role: STEM_CELL, functionName: "" }), ctr({ id: "e", lastUsedAt: 100 })];
  t.deepEqual(brief(p.decide(view(cs), 100 + K - 1)), []);
  t.deepEqual(brief(p.decide(view(cs), 100 + K)), ["remove:e"]);
  t.deepEqual(brief(p.decide(view(cs), 100 * K)), ["remove:e"]);
});

test("prewarm lends the oldest idle stem cell", (t) => {
  const p = createPolicy("prewarm");
  const renter = fn({ name: "g" });
  const cands = [
    ctr({ id: "s-new", role: STEM_CELL, functionName: "", createdAt: 200 }),
    ctr({ id: "s-b", role: STEM_CELL, functionName: "", createdAt: 100 }),
    ctr({ id: "s-a", role: STEM_CELL, functionName: "", createdAt: 100 }),
    ctr({ id: "s-old-busy", role: STEM_CELL, functionName: "", createdAt: 0, state: BUSY, inflight: 1 }),
    ctr({ id: "z-old", role: ZYGOTE, functionName: "", createdAt: 0 }),
  ];
  t.is(p.chooseLender!(renter, cands, view(cands), 1000), "s-a");
  t.is(p.chooseLender!(renter, [cands[0]], view(cands), 1000), "s-new");
  t.is(p.chooseLender!(renter, [cands[4]], view(cands), 1000), undefined);
  t.is(p.chooseLender!(renter, [], view([]), 1000), undefined);
});

// ---------------------------------------------------------------- sock

const popular: PackageSetView = { id: "S2", image: "zygote:S2", packages: m({ lodash: "4.17.21", marked: "12.0.2" }), functions: ["f", "g"] };

test("sock starts zygotes of the popular set only once it exists, counting STARTING ones", (t) => {
  const p = createPolicy("sock");
  t.deepEqual(brief(p.decide(view([]), 0)), []);
  t.deepEqual(brief(p.decide(view([], [], popular), 0)), ["start-zygote:S2", "start-zygote:S2"]);
  const starting = ctr({ id: "z1", role: ZYGOTE, functionName: "", state: STARTING, packages: popular.packages });
  t.deepEqual(brief(p.decide(view([starting], [], popular), 0)), ["start-zygote:S2"]);
  t.deepEqual(brief(createPolicy("sock", { zygotes: 1 }).decide(view([starting], [], popular), 0)), []);
});

test("sock removes idle zygotes of a stale set at once, keeps current ones, keeps executors and helpers alive for keep-alive", (t) => {
  const p = createPolicy("sock", { keepAliveMs: K });
  const stale = ctr({ id: "z-old", role: ZYGOTE, functionName: "", packages: m({ lodash: "4.17.21" }), createdAt: 5000, lastUsedAt: 5000 });
  const staleStarting = ctr({ id: "z-old-starting", role: ZYGOTE, functionName: "", state: STARTING, packages: m({ lodash: "4.17.21" }) });
  const current = [1, 2].map((i) => ctr({ id: `z${i}`, role: ZYGOTE, functionName: "", packages: m({ marked: "12.0.2", lodash: "4.17.21" }) }));
  const e = ctr({ id: "e", lastUsedAt: 1000 });
  const h = ctr({ id: "h", role: HELPER, functionName: "g", lastUsedAt: 2000 });
  const cs = [stale, staleStarting, ...current, e, h];
  t.deepEqual(brief(p.decide(view(cs, [], popular), 5000)), ["remove:z-old"]);
  t.deepEqual(brief(p.decide(view(cs, [], popular), 1000 + K)), ["remove:e", "remove:z-old"]);
  t.deepEqual(brief(p.decide(view(cs, [], popular), 2000 + K)), ["remove:e", "remove:h", "remove:z-old"]);
  // The stale ones do not count: only one current zygote left -> one start.
  t.deepEqual(brief(p.decide(view([stale, current[0]], [], popular), 5000)), ["remove:z-old", "start-zygote:S2"]);
  // No popular set: nothing to compare with, zygotes fall under keep-alive.
  t.deepEqual(brief(p.decide(view([stale, current[0]]), 5000)), []);
  t.deepEqual(brief(p.decide(view([stale, current[0]]), K)), ["remove:z1"]);
});

test("sock lends the zygote with the fewest packages beyond the renter's, then the oldest, then id", (t) => {
  const p = createPolicy("sock");
  const renter = fn({ name: "g", dependencies: m({ lodash: "4.17.21" }) });
  const z = (id: string, pk: Record<string, string>, createdAt: number) => ctr({ id, role: ZYGOTE, functionName: "", packages: m(pk), createdAt });
  const wide = z("z-wide", { lodash: "4.17.21", marked: "12.0.2", uuid: "9.0.1" }, 0);
  const narrowNew = z("z-narrow-new", { lodash: "4.17.21", marked: "12.0.2" }, 300);
  const narrowOldB = z("z-narrow-b", { lodash: "4.17.21", uuid: "9.0.1" }, 100);
  const narrowOldA = z("z-narrow-a", { lodash: "4.17.21", ms: "2.1.3" }, 100);
  t.is(p.chooseLender!(renter, [wide, narrowNew], view([]), 0), "z-narrow-new");
  t.is(p.chooseLender!(renter, [wide, narrowNew, narrowOldB], view([]), 0), "z-narrow-b");
  t.is(p.chooseLender!(renter, [narrowOldB, wide, narrowNew, narrowOldA], view([]), 0), "z-narrow-a");
  t.is(p.chooseLender!(renter, [], view([]), 0), undefined);
});

// ---------------------------------------------------------------- pagurus

test("pagurus zygote time: default before minArrivals gaps, p95 of the gaps after, bounded", (t) => {
  // 9 gaps: not enough.
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps([5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]) })), 60_000);
  t.is(zygoteTimeMs(fn({ name: "f" })), 60_000);
  t.is(zygoteTimeMs(undefined, { defaultZygoteTimeMs: 30_000 }), 30_000);
  // 10 gaps: nearest rank ceil(9.5) = 10th = the largest.
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps([2000, 9000, 2000, 2000, 3000, 2000, 2000, 2000, 2000, 2000]) })), 9000);
  // 20 gaps 1 s..20 s in shuffled order: rank 19 = 19 s.
  const gaps = [7, 3, 20, 1, 15, 9, 12, 2, 19, 5, 4, 18, 6, 11, 8, 14, 10, 17, 13, 16].map((s) => s * 1000);
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps(gaps, 50_000) })), 19_000);
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps(gaps) }), { minArrivals: 21 }), 60_000);
  // Bounds: [1 s, keep-alive).
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps(Array(12).fill(100)) })), 1000);
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps(Array(12).fill(20 * 60_000)) })), K - 1);
  t.is(zygoteTimeMs(fn({ name: "f", arrivals: arrivalsWithGaps(Array(12).fill(20 * 60_000)) }), { keepAliveMs: 300_000 }), 299_999);
  t.throws(() => zygoteTimeMs(undefined, { minZygoteTimeMs: K }), { instanceOf: RangeError });
});

test("pagurus converts an idle executor at exactly its zygote time and removes at keep-alive", (t) => {
  const p = createPolicy("pagurus");
  const f = fn({ name: "f", arrivals: [0] });
  const e = ctr({ id: "e", lastUsedAt: 1000 });
  t.deepEqual(brief(p.decide(view([e], [f]), 1000 + 59_999)), []);
  t.deepEqual(brief(p.decide(view([e], [f]), 1000 + 60_000)), ["become-zygote:e"]);
  // Learned zygote time (p95 of 12 gaps of 5 s) = 5 s.
  const fast = fn({ name: "f", arrivals: arrivalsWithGaps(Array(12).fill(5000), -100_000) });
  t.deepEqual(brief(p.decide(view([e], [fast]), 1000 + 4999)), []);
  t.deepEqual(brief(p.decide(view([e], [fast]), 1000 + 5000)), ["become-zygote:e"]);
  // Keep-alive: executor, zygote, helper idle >= K go; the executor is not converted as well.
  const z = ctr({ id: "z", role: ZYGOTE, functionName: "", formerFunction: "f", lastUsedAt: 1000 });
  const h = ctr({ id: "h", role: HELPER, functionName: "g", lastUsedAt: 1000 });
  t.deepEqual(brief(p.decide(view([e, z, h], [f]), 1000 + K - 1)), ["become-zygote:e"]);
  t.deepEqual(brief(p.decide(view([e, z, h], [f]), 1000 + K)), ["remove:e", "remove:z", "remove:h"]);
  // Busy executors are never converted, nor are helpers, unless zygotesFromHelpers: then an idle helper is,
  // like an executor (g's last container is not kept warm: g has no recent arrival).
  const busy = ctr({ id: "b", state: BUSY, inflight: 1, lastUsedAt: 1000 });
  t.deepEqual(brief(p.decide(view([h, busy], [f, fn({ name: "g" })]), 1000 + 60_000)), []);
  const fromHelpers = createPolicy("pagurus", { zygotesFromHelpers: true });
  t.deepEqual(brief(fromHelpers.decide(view([h, busy], [f, fn({ name: "g" })]), 1000 + 60_000)), ["become-zygote:h"]);
});

test("pagurus keeps a shrunk zygote as long as its executor's memory-seconds last: i + (K - i) · e / z", (t) => {
  const p = createPolicy("pagurus");
  const f = fn({ name: "f", memoryMb: 256 });
  // Converted 60 s after f's last use, shrunk from 256 to 64 MB: 60 s + (K - 60 s) · 4.
  const z = ctr({ id: "z", role: ZYGOTE, functionName: "", formerFunction: "f", lastUsedAt: 1000, roleSince: 61_000, memoryMb: 64 });
  const limit = 60_000 + (K - 60_000) * 4;
  t.is(zygoteKeepAliveMs(z, 256, K), limit);
  t.deepEqual(brief(p.decide(view([z], [f]), 1000 + K)), [], "past the executor's keep-alive, the zygote stays");
  t.deepEqual(brief(p.decide(view([z], [f]), 1000 + limit - 1)), []);
  t.deepEqual(brief(p.decide(view([z], [f]), 1000 + limit)), ["remove:z"]);
  // Not smaller, started empty, or of a function the node no longer knows: the plain keep-alive.
  t.is(zygoteKeepAliveMs({ ...z, memoryMb: 256 }, 256, K), K);
  t.is(zygoteKeepAliveMs({ ...z, formerFunction: "" }, undefined, K), K);
  t.deepEqual(brief(p.decide(view([z], []), 1000 + K)), ["remove:z"]);
  // A conversion later than the keep-alive (it cannot be) counts as at the keep-alive.
  t.is(zygoteKeepAliveMs({ ...z, roleSince: 1000 + 2 * K }, 256, K), K);
});

test("pagurus keeps f's last warm container while f arrived within its zygote time", (t) => {
  const p = createPolicy("pagurus");
  const e1 = ctr({ id: "e1", lastUsedAt: 0 });
  const recent = fn({ name: "f", arrivals: [0, 65_000] });
  // Only e1 left and f arrived 5 s ago (its invocation waits elsewhere): keep it.
  t.deepEqual(brief(p.decide(view([e1], [recent]), 70_000)), []);
  // A second container of f (serving that arrival) exists: e1 may go.
  const e2 = ctr({ id: "e2", state: BUSY, inflight: 1, lastUsedAt: 65_000 });
  t.deepEqual(brief(p.decide(view([e1, e2], [recent]), 70_000)), ["become-zygote:e1"]);
  // No arrival within the zygote time: convert.
  t.deepEqual(brief(p.decide(view([e1], [fn({ name: "f", arrivals: [0, 9_000] })]), 70_000)), ["become-zygote:e1"]);
  // Two idle executors of f, the last arrival recent: one converts (the longer idle), the other stays warm.
  const e3 = ctr({ id: "e3", lastUsedAt: 2000 });
  t.deepEqual(brief(p.decide(view([e3, e1], [recent]), 70_000)), ["become-zygote:e1"]);
});

test("pagurus zygote time by level: p95 of the gaps between arrivals that needed k containers or more, never below level k-1's", (t) => {
  // 24 arrivals 5 s apart; every 4th (from the 4th) needed 2 containers (gaps of 20 s, 5 of them), and
  // levels 3 at two of those.
  const arrivals = arrivalsWithGaps(Array(23).fill(5000));
  const arrivalLevels = arrivals.map((_, i) => (i === 11 || i === 23 ? 3 : i % 4 === 3 ? 2 : 1));
  const f = fn({ name: "f", arrivals, arrivalLevels });
  // Level 1: 23 gaps of 5 s. Level 2: 5 gaps, fewer than minArrivals: the default (60 s). Level 3: one gap.
  t.deepEqual(zygoteTimesByLevel(f), [5000, 60_000, 60_000]);
  t.deepEqual(zygoteTimesByLevel(f, { minArrivals: 5 }), [5000, 20_000, 60_000], "level 2 has its 5 gaps; level 3's one gap is too few: the default");
  t.deepEqual(zygoteTimesByLevel(f, { minArrivals: 5, defaultZygoteTimeMs: 1000 }), [5000, 20_000, 20_000], "a level without enough gaps is never below the level under it");
  t.deepEqual(zygoteTimesByLevel(f, { minArrivals: 1 }), [5000, 20_000, 60_000]);
  // Bounded by keep-alive, like level 1.
  t.deepEqual(zygoteTimesByLevel(f, { minArrivals: 1, keepAliveMs: 30_000 }), [5000, 20_000, 29_999]);
  // No levels recorded: every arrival needed one container.
  t.deepEqual(zygoteTimesByLevel(fn({ name: "f", arrivals })), [5000]);
  t.deepEqual(zygoteTimesByLevel(undefined, { defaultZygoteTimeMs: 7000 }), [7000]);
});

test("pagurus keeps as many containers as f's last arrivals needing them came within their zygote times", (t) => {
  const o = { minArrivals: 1 };
  // Levels 1,2,1,3,1 at 0, 10, 20, 30, 40 s: zygote times [10 s, 20 s, 60 s (one arrival: the default)].
  const f = fn({ name: "f", arrivals: [0, 10_000, 20_000, 30_000, 40_000], arrivalLevels: [1, 2, 1, 3, 1] });
  t.deepEqual(zygoteTimesByLevel(f, o), [10_000, 20_000, 60_000]);
  t.is(pagurusKeptContainers(f, 45_000, o), 3, "level 3 arrived 15 s ago, within 60 s");
  t.is(pagurusKeptContainers(f, 89_999, o), 3);
  t.is(pagurusKeptContainers(f, 90_000, o), 0, "level 3 60 s ago, level 2 (30 s) 60 s ago, level 1 50 s ago");
  const g = fn({ name: "g", arrivals: [0, 10_000, 20_000, 30_000, 40_000], arrivalLevels: [1, 3, 1, 2, 1] });
  // g: level 2 arrivals at 10 s and 30 s (gap 20 s), level 3 once (default 60 s).
  t.is(pagurusKeptContainers(g, 49_999, o), 3, "level 3 at 10 s, within 60 s");
  t.is(pagurusKeptContainers(g, 50_000, o), 3);
  t.is(pagurusKeptContainers(g, 70_000, o), 0, "level 3 at 60 s: gone; level 2 at 40 s: gone; level 1 at 30 s: gone");
  t.is(pagurusKeptContainers(g, 69_999, o), 3);
  t.is(pagurusKeptContainers(fn({ name: "h" }), 0, o), 0, "no arrival, nothing kept");
  t.is(pagurusKeptContainers(undefined, 0, o), 0);
  // Levels only 1: Pagurus's rule, the last container is kept while f arrived within its zygote time.
  const one = fn({ name: "one", arrivals: [0, 10_000] });
  t.is(pagurusKeptContainers(one, 69_999), 1);
  t.is(pagurusKeptContainers(one, 70_000), 0);
});

test("pagurus converts only the containers beyond those f keeps, the least recent first, busy ones kept first", (t) => {
  const p = createPolicy("pagurus", { minArrivals: 1, zygotesFromHelpers: true });
  // f needed 3 containers at 30 s (level-3 zygote time: the default 60 s), 1 at 40 s (level 1: 10 s gaps).
  const f = fn({ name: "f", arrivals: [0, 10_000, 20_000, 30_000, 40_000], arrivalLevels: [1, 2, 1, 3, 1] });
  const e1 = ctr({ id: "e1", lastUsedAt: 41_000 });
  const e2 = ctr({ id: "e2", lastUsedAt: 33_000 });
  const h3 = ctr({ id: "h3", role: HELPER, lastUsedAt: 32_000 });
  const e4 = ctr({ id: "e4", lastUsedAt: 12_000 });
  // At 70 s: f keeps 3 (level 3 came 40 s ago); e4, the fourth, idle 58 s >= 10 s, converts.
  t.deepEqual(brief(p.decide(view([e4, h3, e1, e2], [f]), 70_000)), ["become-zygote:e4"]);
  // At 90 s nothing is kept: all four idle past level 1's 10 s; the lender bound (2) takes the least recent.
  t.deepEqual(brief(p.decide(view([e4, h3, e1, e2], [f]), 90_000)), ["become-zygote:e4", "become-zygote:h3"]);
  // A busy container counts first among those kept: with e4 busy at 70 s, h3 (now fourth) converts.
  const e4Busy = { ...e4, state: BUSY, inflight: 1 };
  t.deepEqual(brief(p.decide(view([e4Busy, h3, e1, e2], [f]), 70_000)), ["become-zygote:h3"]);
  // On demand for another function, a container beyond those f keeps goes first, even with more packages
  // the renter does not need; then a kept one (the longest idle): a cold start now is certain, f's need of
  // its third container again is not.
  const renter = fn({ name: "g", dependencies: m({ x: "1" }) });
  const h3Big = { ...h3, packages: m({ x: "1", y: "1", z: "1" }) };
  const e1Lean = { ...e1, packages: m({ x: "1" }) };
  t.is(p.convertForRenter!(renter, [e1Lean, e2, h3Big], view([e4Busy, h3Big, e1Lean, e2], [f, renter]), 70_000), "h3");
  t.is(p.convertForRenter!(renter, [e1, e2], view([e4Busy, h3, e1, e2], [f, renter]), 70_000), "e2", "both kept: the longest idle");
});

test("pagurus respects the lender bound per function", (t) => {
  const p = createPolicy("pagurus");
  const f = fn({ name: "f", arrivals: [0] });
  const es = [ctr({ id: "e1", lastUsedAt: 300 }), ctr({ id: "e2", lastUsedAt: 100 }), ctr({ id: "e3", lastUsedAt: 200 })];
  const now = 100_000;
  t.deepEqual(brief(p.decide(view(es, [f]), now)), ["become-zygote:e2", "become-zygote:e3"]);
  const zf = ctr({ id: "zf", role: ZYGOTE, functionName: "", formerFunction: "f", lastUsedAt: 90_000 });
  const zg = ctr({ id: "zg", role: ZYGOTE, functionName: "", formerFunction: "g", lastUsedAt: 90_000 });
  const zGone = ctr({ id: "zgone", role: ZYGOTE, functionName: "", formerFunction: "f", state: REMOVING });
  t.deepEqual(brief(p.decide(view([...es, zf, zg, zGone], [f]), now)), ["become-zygote:e2"]);
  t.deepEqual(brief(p.decide(view([...es, zf, { ...zf, id: "zf2" }], [f]), now)), []);
  t.deepEqual(brief(createPolicy("pagurus", { maxLendersPerFunction: 3 }).decide(view(es, [f]), now)), [
    "become-zygote:e2",
    "become-zygote:e3",
    "become-zygote:e1",
  ]);
  t.deepEqual(brief(createPolicy("pagurus", { maxLendersPerFunction: 0 }).decide(view(es, [f]), now)), []);
});

test("pagurus converts first the executors covering the most other functions with recent cold starts", (t) => {
  const p = createPolicy("pagurus");
  const now = 1_000_000;
  const x = { x: "1" };
  const xy = { x: "1", y: "1" };
  const ea = ctr({ id: "ea", functionName: "fa", packages: m(x), lastUsedAt: now - 100_000 });
  const eb = ctr({ id: "eb", functionName: "fb", packages: m(xy), lastUsedAt: now - 99_500 });
  const ec = ctr({ id: "ec", functionName: "fc", packages: m({ z: "1" }), lastUsedAt: now - 99_900 });
  const functions = [
    fn({ name: "fa", dependencies: m(x), arrivals: [0], coldStarts: [now - 10] }),
    fn({ name: "fb", dependencies: m(xy), arrivals: [0] }),
    // fc's own recent cold starts do not count for ec.
    fn({ name: "fc", dependencies: m({ z: "1" }), arrivals: [0], coldStarts: [now - 10, now - 20] }),
    fn({ name: "g1", dependencies: m(x), coldStarts: [now - 1000] }),
    fn({ name: "g2", dependencies: m(xy), coldStarts: [now - K] }),
    // A cold start older than keep-alive is not recent; g3 would make ec the first otherwise.
    fn({ name: "g3", dependencies: m({ z: "1" }), coldStarts: [now - K - 1, now - K - 2, now - K - 3] }),
  ];
  // eb covers fa, g1, g2 (3); ea covers g1 (1; fb and g2 need y); ec covers none.
  t.deepEqual(brief(p.decide(view([ec, ea, eb], functions), now)), ["become-zygote:eb", "become-zygote:ea", "become-zygote:ec"]);
  // Without any cold start the longest idle goes first.
  const calm = functions.map((f) => ({ ...f, coldStarts: [] }));
  t.deepEqual(brief(p.decide(view([ec, ea, eb], calm), now)), ["become-zygote:ea", "become-zygote:ec", "become-zygote:eb"]);
});

test("pagurus chooses lenders by similarity, waste, not robbing, recency of conversion, id", (t) => {
  const p = createPolicy("pagurus");
  const now = 1_000_000;
  const renter = fn({ name: "r", dependencies: m({ a: "1" }), coldStarts: [now - 5] });
  const functions = [renter, fn({ name: "hot", coldStarts: [now - 100] }), fn({ name: "calm", coldStarts: [now - K - 1] })];
  const z = (id: string, pk: Record<string, string>, formerFunction = "", roleSince = 0) =>
    ctr({ id, role: ZYGOTE, functionName: "", packages: m(pk), formerFunction, roleSince });
  const v = view([], functions);
  const ab = { a: "1", b: "1" };
  const abc = { a: "1", b: "1", c: "1" };
  // (a) similarity 1/2 beats 1/3, even when the wider one does not rob and is newer.
  t.is(p.chooseLender!(renter, [z("z-abc", abc, "calm", 900), z("z-ab", ab, "hot", 1)], v, now), "z-ab");
  // Exact set: similarity 1.
  t.is(p.chooseLender!(renter, [z("z-ab", ab), z("z-a", { a: "1" }, "hot")], v, now), "z-a");
  // (c) same similarity and waste: the one formerly of a function without recent cold starts, though older.
  t.is(p.chooseLender!(renter, [z("z-hot", ab, "hot", 900), z("z-calm", ab, "calm", 100)], v, now), "z-calm");
  // A zygote formerly of the renter itself does not rob.
  t.is(p.chooseLender!(renter, [z("z-hot", ab, "hot", 900), z("z-own", ab, "r", 100)], v, now), "z-own");
  // (d) then the most recently converted.
  t.is(p.chooseLender!(renter, [z("z-old", ab, "calm", 100), z("z-new", ab, "", 200)], v, now), "z-new");
  // (e) then id, whatever the candidates' order.
  t.is(p.chooseLender!(renter, [z("z2", ab, "calm", 100), z("z1", ab, "", 100)], v, now), "z1");
  t.is(p.chooseLender!(renter, [z("z1", ab, "", 100), z("z2", ab, "calm", 100)], v, now), "z1");
  // Lends even to a renter without cold starts; busy candidates are skipped; none -> undefined.
  const quiet = fn({ name: "q", dependencies: m({ a: "1" }) });
  t.is(p.chooseLender!(quiet, [z("z-ab", ab)], v, now), "z-ab");
  t.is(p.chooseLender!(renter, [{ ...z("z-busy", { a: "1" }), state: BUSY, inflight: 1 }, z("z-abc", abc)], v, now), "z-abc");
  t.is(p.chooseLender!(renter, [], v, now), undefined);
});

test("pagurus converts on demand only a surplus or unkept executor idle for the minimum zygote time: fewest extra packages, longest idle, id", (t) => {
  const p = createPolicy("pagurus");
  const now = 1_000_000;
  const renter = fn({ name: "r", dependencies: m({ a: "1" }) });
  const e = (id: string, functionName: string, pk: Record<string, string>, lastUsedAt: number, more: Partial<ContainerView> = {}) =>
    ctr({ id, functionName, packages: m(pk), lastUsedAt, ...more });
  const hWarm = e("h-busy", "h", { a: "1" }, now, { state: BUSY, inflight: 1 });
  const hIdle = e("h-idle", "h", { a: "1", b: "1" }, now - 5000);
  // h keeps h-busy: h-idle is surplus.
  t.is(p.convertForRenter!(renter, [hIdle], view([hWarm, hIdle]), now), "h-idle");
  // h's only container is not taken while h keeps it (h arrived within its zygote time, the default 60 s
  // here), nor is one a zygote stands beside; a STARTING container beside it serves h.
  const hRecent = fn({ name: "h", arrivals: [now - 59_999] });
  t.is(p.convertForRenter!(renter, [hIdle], view([hIdle], [hRecent]), now), undefined);
  const zygoteOfH = ctr({ id: "z", role: ZYGOTE, functionName: "", formerFunction: "h" });
  t.is(p.convertForRenter!(renter, [hIdle], view([hIdle, zygoteOfH], [hRecent]), now), undefined);
  t.is(p.convertForRenter!(renter, [hIdle], view([hIdle, { ...hWarm, state: STARTING, inflight: 0 }], [hRecent]), now), "h-idle");
  // Once h's last arrival is older than its zygote time, h keeps nothing and its only container goes,
  // though idle for less than the zygote time (decide() would convert it at 60 s idle).
  const hOld = fn({ name: "h", arrivals: [now - 60_000] });
  t.is(p.convertForRenter!(renter, [hIdle], view([hIdle], [hOld]), now), "h-idle");
  t.is(p.convertForRenter!(renter, [hIdle], view([hIdle]), now), "h-idle", "a function never seen keeps nothing");
  // Idle for less than the minimum zygote time (1 s): between two invocations of a burst, left alone.
  const justUsed = { ...hIdle, lastUsedAt: now - 999 };
  t.is(p.convertForRenter!(renter, [justUsed], view([hWarm, justUsed]), now), undefined);
  t.is(p.convertForRenter!(renter, [{ ...hIdle, lastUsedAt: now - 1000 }], view([hWarm, { ...hIdle, lastUsedAt: now - 1000 }]), now), "h-idle");
  // Ranking: fewest packages beyond the renter's, then the longest idle, then id.
  const kWarm = e("k-busy", "k", { a: "1" }, now, { state: BUSY, inflight: 1 });
  const kIdle = e("k-idle", "k", { a: "1" }, now - 2000);
  const all = [hWarm, hIdle, kWarm, kIdle];
  t.is(p.convertForRenter!(renter, [hIdle, kIdle], view(all), now), "k-idle", "k's set has no extra package");
  const kOlder = e("k-older", "k", { a: "1" }, now - 9000);
  t.is(p.convertForRenter!(renter, [kIdle, kOlder], view([...all, kOlder]), now), "k-older");
  const kTwin = e("k-a", "k", { a: "1" }, now - 9000);
  t.is(p.convertForRenter!(renter, [kOlder, kTwin], view([...all, kOlder, kTwin]), now), "k-a");
  // Helpers only with zygotesFromHelpers; the renter's own containers never; the option off: none.
  const helper = { ...hIdle, role: HELPER };
  t.is(p.convertForRenter!(renter, [helper], view([hWarm, helper]), now), undefined);
  t.is(createPolicy("pagurus", { zygotesFromHelpers: true }).convertForRenter!(renter, [helper], view([hWarm, helper]), now), "h-idle");
  const own = e("r-idle", "r", { a: "1" }, now - 9000);
  t.is(p.convertForRenter!(renter, [own], view([own, { ...own, id: "r-busy", state: BUSY }]), now), undefined);
  t.is(createPolicy("pagurus", { convertOnDemand: false }).convertForRenter!(renter, [hIdle], view([hWarm, hIdle]), now), undefined);
  // Other policies never convert on demand.
  for (const name of POLICY_NAMES.filter((n) => n !== "pagurus")) t.is(createPolicy(name).convertForRenter, undefined, name);
});

test("pagurus's reserve: none by default; while functions are active, converts an unkept idle executor early, else starts a zygote of the set covering the most", (t) => {
  const now = 1_000_000;
  const big: PackageSetView = { id: "S-big", image: "zy:big", packages: m({ a: "1", b: "1" }), functions: ["f", "g"] };
  const small: PackageSetView = { id: "S-small", image: "zy:small", packages: m({ a: "1" }), functions: ["h"] };
  const active = [
    fn({ name: "f", dependencies: m({ a: "1" }), arrivals: [now - 5000] }),
    fn({ name: "g", dependencies: m({ b: "1" }), arrivals: [now - 1000] }),
    fn({ name: "h", dependencies: m({ a: "1" }), arrivals: [now - 2000], coldStarts: [now - 2000] }),
  ];
  const busy = ctr({ id: "f-busy", functionName: "f", state: BUSY, inflight: 1, packages: m({ a: "1", b: "1" }), lastUsedAt: now });
  t.deepEqual(brief(createPolicy("pagurus").decide(view([busy], active, undefined, [big, small]), now)), [], "Pagurus's design: no reserve");
  const p = createPolicy("pagurus", { reserveZygotes: 1 });
  // f-busy is busy, nothing to convert: a zygote of the set covering the most active functions (big covers f, g and h).
  t.deepEqual(brief(p.decide(view([busy], active, undefined, [big, small]), now)), ["start-zygote:S-big"]);
  // Two wanted, one starting already: one more.
  const starting = ctr({ id: "z1", role: ZYGOTE, functionName: "", state: STARTING, packages: big.packages, roleSince: now, lastUsedAt: now });
  t.deepEqual(brief(createPolicy("pagurus", { reserveZygotes: 2 }).decide(view([busy, starting], active, undefined, [big, small]), now)), ["start-zygote:S-big"]);
  t.deepEqual(brief(p.decide(view([busy, starting], active, undefined, [big, small]), now)), [], "the starting zygote is the reserve");
  // A zygote covering no active function does not count.
  const stray = { ...starting, id: "z-stray", state: IDLE, packages: m({ c: "1" }), lastUsedAt: now };
  t.deepEqual(brief(p.decide(view([busy, stray], active, undefined, [big, small]), now)), ["start-zygote:S-big"]);
  // Equal cover: the set with more recent cold starts among its functions, then fewer packages.
  const same: PackageSetView = { ...small, id: "S-other", packages: m({ a: "1" }), functions: [] };
  const fOnly = [active[0]];
  t.deepEqual(brief(p.decide(view([], fOnly, undefined, [big, same]), now)), ["start-zygote:S-other"], "fewer packages");
  // An idle executor its function does not keep (a second container of f, which keeps 1) is converted early
  // instead of starting a container; one idle for less than the minimum zygote time is not.
  const fIdle = ctr({ id: "f-idle", functionName: "f", packages: m({ a: "1", b: "1" }), lastUsedAt: now - 1500 });
  t.deepEqual(brief(p.decide(view([busy, fIdle], active, undefined, [big]), now)), ["become-zygote:f-idle"]);
  t.deepEqual(brief(p.decide(view([busy, { ...fIdle, lastUsedAt: now - 500 }], active, undefined, [big]), now)), ["start-zygote:S-big"]);
  // f's only container, kept (f arrived 5 s ago, within its zygote time): not converted, a zygote starts instead.
  t.deepEqual(brief(p.decide(view([{ ...fIdle, id: "f-only" }], active, undefined, [big]), now)), ["start-zygote:S-big"]);
  // Nobody arrived within keep-alive: no reserve, and zygotes go at their keep-alive as always.
  const quiet = active.map((f) => ({ ...f, arrivals: [now - K] }));
  t.deepEqual(brief(p.decide(view([busy], quiet, undefined, [big]), now)), []);
  const old = ctr({ id: "z-old", role: ZYGOTE, functionName: "", packages: big.packages, lastUsedAt: now - K, roleSince: now - K });
  t.deepEqual(brief(p.decide(view([old], quiet, undefined, [big]), now)), ["remove:z-old"]);
  // While functions are active the newest reserve zygotes are spared their keep-alive removal; others go.
  const older = { ...old, id: "z-older", roleSince: now - K - 1 };
  t.deepEqual(brief(p.decide(view([old, older], active, undefined, [big]), now)), ["remove:z-older"]);
  t.deepEqual(brief(createPolicy("pagurus", { reserveZygotes: 2 }).decide(view([old, older], active, undefined, [big]), now)), []);
  t.throws(() => createPolicy("pagurus", { reserveZygotes: -1 }), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- histogram

/** 10 idle times of 100 s and 10 of 200 s: two bins, CV far above 2. p5 = 100 s, p99 = 200 s. */
const concentrated = [...Array(10).fill(100_000), ...Array(10).fill(200_000)];

test("histogram windows: representative only with enough samples and a peaked histogram", (t) => {
  const w = histogramWindows(fn({ name: "f", idleTimesMs: concentrated }));
  t.like(w, { representative: true, prewarmMs: 90_000, keepAliveMs: 220_000 });
  // 240 bins, two holding 10 each: CV = sqrt(240 / 2 - 1).
  t.true(w.representative && Math.abs(w.binCv - Math.sqrt(240 / 2 - 1)) < 1e-9);
  const few = histogramWindows(fn({ name: "f", idleTimesMs: concentrated.slice(0, 9) }));
  t.deepEqual([few.representative, few.keepAliveMs], [false, K]);
  // One idle time per 1-minute bin over the 4 hours: flat histogram, CV 0.
  const flat = histogramWindows(fn({ name: "f", idleTimesMs: Array.from({ length: 240 }, (_, i) => i * 60_000 + 30_000) }));
  t.deepEqual([flat.representative, flat.keepAliveMs], [false, K]);
  // Mostly beyond the 4-hour range.
  const far = histogramWindows(fn({ name: "f", idleTimesMs: [...concentrated, ...Array(21).fill(5 * 3_600_000)] }));
  t.is(far.representative, false);
  t.deepEqual(histogramWindows(fn({ name: "f", idleTimesMs: concentrated.slice(0, 5) }), { fallbackKeepAliveMs: 42 }).keepAliveMs, 42);
  // Bin width is an option: with 1-hour bins 100 s and 200 s share a bin among 4, CV = sqrt(3) < 2.
  t.is(histogramWindows(fn({ name: "f", idleTimesMs: concentrated }), { binMs: 3_600_000 }).representative, false);
});

test("histogram, not representative: fixed fallback keep-alive, no unloading, no pre-warm", (t) => {
  const p = createPolicy("histogram");
  const f = fn({ name: "f", idleTimesMs: concentrated.slice(0, 9), idleSince: 5000 });
  const e = ctr({ id: "e", createdAt: 0, lastUsedAt: 5000 });
  t.deepEqual(brief(p.decide(view([e], [f]), 5000)), []);
  t.deepEqual(brief(p.decide(view([e], [f]), 5000 + K - 1)), []);
  t.deepEqual(brief(p.decide(view([e], [f]), 5000 + K)), ["remove:e"]);
  t.deepEqual(brief(p.decide(view([], [f]), 5000 + 100_000)), []);
  // createPolicy passes keepAliveMs as the fallback when no fallback is given.
  t.deepEqual(brief(createPolicy("histogram", { keepAliveMs: 1000 }).decide(view([e], [f]), 6000)), ["remove:e"]);
});

test("histogram, representative with p5 > 0: unload after execution, pre-warm at the p5 window, remove after the keep-alive window", (t) => {
  const p = createPolicy("histogram");
  const t0 = 5000;
  const f = fn({ name: "f", idleTimesMs: concentrated, idleSince: t0 });
  const used = ctr({ id: "e", createdAt: 0, lastUsedAt: t0 });
  // Right after the execution: unloaded.
  t.deepEqual(brief(p.decide(view([used], [f]), t0)), ["remove:e"]);
  // While f still runs elsewhere (idleSince undefined) an idle used executor stays until the keep-alive window.
  const running = { ...f, idleSince: undefined };
  t.deepEqual(brief(p.decide(view([used], [running]), t0 + 219_999)), []);
  t.deepEqual(brief(p.decide(view([used], [running]), t0 + 220_000)), ["remove:e"]);
  // Pre-warm window 90 s.
  t.deepEqual(brief(p.decide(view([], [f]), t0 + 89_999)), []);
  t.deepEqual(brief(p.decide(view([], [f]), t0 + 90_000)), ["prewarm-executor:f"]);
  // Being started (STARTING counts) or up: no second one, and it is not unloaded.
  const starting = ctr({ id: "p", state: STARTING, createdAt: t0 + 90_500, lastUsedAt: t0 + 90_500 });
  t.deepEqual(brief(p.decide(view([starting], [f]), t0 + 91_000)), []);
  const prewarmed = { ...starting, state: IDLE };
  t.deepEqual(brief(p.decide(view([prewarmed], [f]), t0 + 120_000)), []);
  // Removed once the keep-alive window (220 s) from idleSince passes; no pre-warm after it.
  t.deepEqual(brief(p.decide(view([prewarmed], [f]), t0 + 219_999)), []);
  t.deepEqual(brief(p.decide(view([prewarmed], [f]), t0 + 220_000)), ["remove:p"]);
  t.deepEqual(brief(p.decide(view([], [f]), t0 + 220_000)), []);
  // Once used and f idle again, the pre-warmed executor is unloaded like any other.
  const t1 = t0 + 150_000;
  const usedPrewarmed = { ...prewarmed, lastUsedAt: t1 };
  t.deepEqual(brief(p.decide(view([usedPrewarmed], [{ ...f, idleSince: t1 }]), t1)), ["remove:p"]);
  // Another function's executor does not stand in for f's.
  t.deepEqual(brief(p.decide(view([ctr({ id: "g1", functionName: "g", state: BUSY, inflight: 1 })], [f]), t0 + 90_000)), ["prewarm-executor:f"]);
});

test("histogram, representative with p5 = 0: plain keep-alive of p99 × 1.1", (t) => {
  const p = createPolicy("histogram");
  const idle = [0, ...Array(9).fill(100_000), ...Array(10).fill(200_000)];
  const f = fn({ name: "f", idleTimesMs: idle, idleSince: 5000 });
  const e = ctr({ id: "e", createdAt: 0, lastUsedAt: 5000 });
  t.like(histogramWindows(f), { representative: true, prewarmMs: 0, keepAliveMs: 220_000 });
  t.deepEqual(brief(p.decide(view([e], [f]), 5000)), []);
  t.deepEqual(brief(p.decide(view([e], [f]), 5000 + 219_999)), []);
  t.deepEqual(brief(p.decide(view([e], [f]), 5000 + 220_000)), ["remove:e"]);
  t.deepEqual(brief(p.decide(view([], [f]), 5000 + 100_000)), []);
});

// ---------------------------------------------------------------- factory

test("createPolicy builds every named policy and rejects bad options", (t) => {
  t.deepEqual([...POLICY_NAMES], ["keepalive", "prewarm", "sock", "pagurus", "histogram"]);
  for (const name of POLICY_NAMES) t.is(createPolicy(name).name, name);
  t.true(isPolicyName("sock"));
  t.false(isPolicyName("random"));
  t.is(createPolicy("keepalive").chooseLender, undefined);
  t.is(createPolicy("histogram").chooseLender, undefined);
  t.throws(() => createPolicy("prewarm", { stemCells: -1 }), { instanceOf: RangeError });
  t.throws(() => createPolicy("sock", { zygotes: 1.5 }), { instanceOf: RangeError });
  t.throws(() => createPolicy("pagurus", { keepAliveMs: 1000, minZygoteTimeMs: 1000 }), { instanceOf: RangeError });
  t.throws(() => createPolicy("histogram", { maxOutOfRangeShare: 2 }), { instanceOf: RangeError });
});
