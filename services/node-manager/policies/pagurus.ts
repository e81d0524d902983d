// Pagurus (ATC'22), done right: an idle executor of f is turned in place into a zygote (its image already
// holds f's package set S; the sidecar ends f's worker, wipes its directory and keeps a template worker with
// S imported) once it has been idle for f's zygote time; the zygote is then lent to any function g whose
// dependencies S covers, which forks a helper worker from it instead of cold-starting a container.
//
// Zygote time of f: the 95th percentile (nearest rank over the sorted gaps) of f's inter-arrival gaps once
// at least `minArrivals` gaps are known, `defaultZygoteTimeMs` before; bounded to
// [minZygoteTimeMs, keepAliveMs - 1] so the conversion always happens before keep-alive removal (a zygote
// time of keepAliveMs or more would mean "never a zygote", which is the keepalive baseline, not Pagurus).
//
// Containers f keeps: a function that runs several invocations at once has several containers, and its
// k-th one is needed again only when f needs k containers again, which happens far less often than f's
// next arrival. The pool records at each arrival how many containers f's invocations in flight need; zygote
// time k is the same 95th percentile over the gaps between the arrivals that needed k or more (default and
// bounds alike, never below zygote time k-1). f keeps its K most recent containers (busy ones first), K the
// largest k whose last arrival needing k or more came within zygote time k; the others convert once idle
// for zygote time 1. K is 0 or 1 for a function that never needed two containers, which is Pagurus's rule
// (keep f's last warm container while it arrived within its zygote time). With only that rule the 2-hour
// replay converted a busy function's second and third containers after 6-12 s idle, lent them away (often
// back to f itself, for a template import and an init) and cold-started f at its next burst: 68 conversions
// and 63 lendings in 720 s, on two cores whose executions already ran 2x slow.
// Idleness is measured from the last use everywhere, so a zygote's keep-alive runs from f's last invocation
// on it: zygote time is spent inside the keep-alive window, the memory budget equals fixed keep-alive's.
//
// A zygote holds less than the executor it was: the node shrinks its memory limit to what its sidecar and
// template need. The memory the executor would have held for the rest of its keep-alive then keeps the
// smaller zygote proportionally longer: converted after idling i, with the executor's limit e and the
// zygote's z < e, it stays until idle i + (keepAlive - i) · e / z. Its memory-seconds are the executor's
// under fixed keep-alive, and it is there for the renters that come after keep-alive would have ended.
//
// decide():
//   1. Executors, helpers (and adopted stem cells) idle ≥ keepAliveMs are removed; zygotes idle beyond
//      their memory-neutral keep-alive (above).
//   2. An IDLE executor (inflight 0) of f idle ≥ zygoteTime(f) qualifies for `become-zygote`; so does an
//      idle helper serving f when `zygotesFromHelpers` is set (DESIGN.md's life cycle ends helpers at
//      keep-alive; with it a container lent once can be lent again, which the 2-hour replay measured as
//      fewer cold starts and less memory), except:
//      - the containers f keeps (above): f's K most recent executors and helpers (STARTING/IDLE/BUSY);
//      - lender bound: at most `maxLendersPerFunction` ZYGOTE containers (not REMOVING/REMOVED) with
//        formerFunction f exist at once, conversions emitted in this same call included.
//   3. Qualifying executors are converted in this order: first those whose package set covers the most
//      *other* functions with recent cold starts (coldStarts within the last keepAliveMs) — the lenders other
//      functions are waiting for; f's own cold starts do not count, its executor serves f warm already — then
//      the longest idle, then id. The order decides who gets the lender slots of a function and the order in
//      which the pool applies the actions.
//
// chooseLender(renter, candidates): always lends when a candidate exists (a helper fork beats a cold start
// whatever the renter's history; keeping a zygote back for a hypothetical later renter costs a sure cold
// start now). Candidates are ranked, never at random:
//   (a) highest Jaccard similarity between the zygote's packages and the renter's dependencies;
//   (b) fewest packages beyond the renter's needs. With coverage given (a) and (b) agree for one renter, so
//       (b) only matters if the pool ever hands in a non-covering candidate;
//   (c) a zygote that robs no struggling function first: a zygote "robs" when its formerFunction is set, is
//       not the renter, and had cold starts within the last keepAliveMs — that function will need it (or a
//       fork of it) itself. A zygote formerly of the renter, of an idle function, or with no former function
//       (started empty, a stem cell) does not rob;
//   (d) the most recently converted (largest roleSince): older zygotes are closer to their keep-alive end
//       and are the ones removed first, the newest has the most life left as a helper;
//   (e) id order.
//
// convertForRenter(renter, candidates): when the renter would start cold (nothing to lend), an idle executor
// of another function h that is *surplus* is turned into a zygote on the spot and lent to the renter,
// instead of waiting out its zygote time. Surplus: h has at least one other live executor or helper, so
// the conversion costs h no warm container, or h does not keep this one (h's last arrival is older than
// its zygote time: by h's own statistics it is not coming back soon, decide() would convert the container
// anyway once idle for the zygote time, which runs from its last use, and the renter cannot wait for that;
// the 2-hour replay cold-started functions beside the only, unkept, container of a function that had
// arrived once 11 s before); and the candidate has been idle at least minZygoteTimeMs, so a
// container between two invocations of a running burst is left alone. A conversion costs one template
// start inside a container that exists (less CPU than the container a cold start creates), and the renter's
// start is a HELPER one whose startup time includes the conversion. Helpers qualify under the same flag as
// for zygote time. The lender bound does not apply: the zygote is lent at once and never waits as one.
// Ranked: containers beyond those h keeps (above) first, then fewest packages beyond the renter's needs (a
// smaller template to start), then the longest idle, then id. A container h keeps may still go: the
// renter's cold start is certain, h's need of its k-th container again within zygote time k is not (the
// 2-hour replay had cold starts while 5 idle containers, all kept, stood by).
//
// Reserve (`reserveZygotes` R, default 0: Pagurus's own design has none): while any function arrived within
// the last keepAliveMs, the node keeps R zygotes standing that cover an active function, so that a
// scale-up or a first arrival with every container busy forks a helper instead of starting cold (the
// 2-hour replay's residual cold starts were of that kind). Zygotes made by the rules above count; when they
// fall short, decide() (4) converts early a qualifying idle executor or helper that its function does not
// keep (idle at least minZygoteTimeMs, lender bound respected), longest idle first, and failing that (5)
// starts a zygote container of the package set that covers the most active functions (then the most
// recent cold starts among them, fewest packages, id). The newest R zygotes are spared from keep-alive
// removal while functions are active, so a reserve is not removed only to be started again. A spare
// zygote holds the pool's spare limit (a shrunk converted one less), far less than the executors that
// keep-alive would hold for the same cover.
import { jaccard } from "../../../common/package-sets.js";
import { ContainerRole } from "../container.js";
import {
  byId,
  checkInt,
  extraPackages,
  functionsByName,
  idleMs,
  interArrivalGaps,
  isIdle,
  isLive,
  keepAliveRemovals,
  percentileNearestRank,
  recentColdStarts,
} from "./common.js";
import { OPENWHISK_KEEP_ALIVE_MS } from "./keepalive.js";
import { covers, type ContainerView, type FunctionView, type NodeView, type PackageSetView, type PolicyAction, type StartupPolicy } from "./policy.js";

export const DEFAULT_ZYGOTE_TIME_MS = 60_000;
export const DEFAULT_MIN_ARRIVALS = 10;
export const DEFAULT_MIN_ZYGOTE_TIME_MS = 1_000;
export const DEFAULT_MAX_LENDERS_PER_FUNCTION = 2;
export const DEFAULT_RESERVE_ZYGOTES = 0;
export const ZYGOTE_TIME_PERCENTILE = 95;

export interface PagurusOptions {
  /** Idle time after which an executor, zygote or helper is removed (ms). Default 10 min. */
  readonly keepAliveMs?: number;
  /** Zygote time while fewer than minArrivals inter-arrival gaps are known (ms). Default 60 s. */
  readonly defaultZygoteTimeMs?: number;
  /** Inter-arrival gaps needed before the 95th percentile is trusted. Default 10. */
  readonly minArrivals?: number;
  /** Lower bound of the zygote time (ms). Default 1 s. */
  readonly minZygoteTimeMs?: number;
  /** Zygotes formerly executors of one function that may exist at once. Default 2. */
  readonly maxLendersPerFunction?: number;
  /** Idle helpers become zygotes too, as executors do. Default false (DESIGN.md: helpers end at keep-alive). */
  readonly zygotesFromHelpers?: boolean;
  /** A cold start turns a surplus idle executor of another function into a zygote for it. Default true. */
  readonly convertOnDemand?: boolean;
  /** Zygotes kept standing while functions are active (converted early or started). Default 0. */
  readonly reserveZygotes?: number;
}

interface PagurusSettings {
  readonly keepAliveMs: number;
  readonly defaultZygoteTimeMs: number;
  readonly minArrivals: number;
  readonly minZygoteTimeMs: number;
  readonly maxLendersPerFunction: number;
  readonly zygotesFromHelpers: boolean;
  readonly convertOnDemand: boolean;
  readonly reserveZygotes: number;
}

function settings(o: PagurusOptions): PagurusSettings {
  const s = {
    keepAliveMs: checkInt("keepAliveMs", o.keepAliveMs ?? OPENWHISK_KEEP_ALIVE_MS, 2),
    defaultZygoteTimeMs: checkInt("defaultZygoteTimeMs", o.defaultZygoteTimeMs ?? DEFAULT_ZYGOTE_TIME_MS, 0),
    minArrivals: checkInt("minArrivals", o.minArrivals ?? DEFAULT_MIN_ARRIVALS, 1),
    minZygoteTimeMs: checkInt("minZygoteTimeMs", o.minZygoteTimeMs ?? DEFAULT_MIN_ZYGOTE_TIME_MS, 0),
    maxLendersPerFunction: checkInt("maxLendersPerFunction", o.maxLendersPerFunction ?? DEFAULT_MAX_LENDERS_PER_FUNCTION, 0),
    zygotesFromHelpers: o.zygotesFromHelpers ?? false,
    convertOnDemand: o.convertOnDemand ?? true,
    reserveZygotes: checkInt("reserveZygotes", o.reserveZygotes ?? DEFAULT_RESERVE_ZYGOTES, 0),
  };
  if (s.minZygoteTimeMs >= s.keepAliveMs) {
    throw new RangeError(`minZygoteTimeMs (${s.minZygoteTimeMs}) must be below keepAliveMs (${s.keepAliveMs})`);
  }
  return s;
}

/** f's zygote time: p95 of its inter-arrival gaps once minArrivals gaps are known, the default before; bounded. */
export function zygoteTimeMs(fn: FunctionView | undefined, options: PagurusOptions = {}): number {
  const s = settings(options);
  return zygoteTime(fn, s);
}

function zygoteTime(fn: FunctionView | undefined, s: PagurusSettings): number {
  return boundedZygoteTime(fn ? interArrivalGaps(fn.arrivals) : [], s);
}

function boundedZygoteTime(gaps: readonly number[], s: PagurusSettings): number {
  const raw = gaps.length >= s.minArrivals ? percentileNearestRank(gaps, ZYGOTE_TIME_PERCENTILE)! : s.defaultZygoteTimeMs;
  return Math.min(s.keepAliveMs - 1, Math.max(s.minZygoteTimeMs, raw));
}

/**
 * Zygote times by the number of containers f needed: [k-1] is, for arrivals that needed k containers or
 * more, the p95 of the gaps between them (as zygoteTimeMs, default and bounds alike), never below [k-2];
 * [0] is zygoteTimeMs(f). As many entries as the most containers f's recorded arrivals needed (at least 1).
 */
export function zygoteTimesByLevel(fn: FunctionView | undefined, options: PagurusOptions = {}): number[] {
  return zygoteTimesOfLevels(fn, settings(options));
}

function levelOf(fn: FunctionView, i: number): number {
  return Math.max(1, fn.arrivalLevels[i] ?? 1);
}

function zygoteTimesOfLevels(fn: FunctionView | undefined, s: PagurusSettings): number[] {
  const times = [zygoteTime(fn, s)];
  if (!fn) return times;
  let top = 1;
  for (let i = 0; i < fn.arrivals.length; i++) top = Math.max(top, levelOf(fn, i));
  for (let k = 2; k <= top; k++) {
    const atLevel = fn.arrivals.filter((_, i) => levelOf(fn, i) >= k);
    times.push(Math.max(times[k - 2], boundedZygoteTime(interArrivalGaps(atLevel), s)));
  }
  return times;
}

/**
 * How many of f's containers stay serving f now: the largest k such that f's last arrival needing k
 * containers or more came within zygote time k (0 when even its last arrival is older than its zygote time).
 */
export function pagurusKeptContainers(fn: FunctionView | undefined, nowMs: number, options: PagurusOptions = {}): number {
  return keptContainers(fn, nowMs, settings(options));
}

function keptContainers(fn: FunctionView | undefined, nowMs: number, s: PagurusSettings): number {
  if (!fn || fn.arrivals.length === 0) return 0;
  const times = zygoteTimesOfLevels(fn, s);
  // lastAt[k-1]: the last arrival that needed k containers or more.
  const lastAt: number[] = new Array<number>(times.length).fill(-Infinity);
  for (let i = 0; i < fn.arrivals.length; i++) {
    for (let k = 1; k <= levelOf(fn, i); k++) lastAt[k - 1] = Math.max(lastAt[k - 1], fn.arrivals[i]);
  }
  let kept = 0;
  for (let k = 1; k <= times.length; k++) if (nowMs - lastAt[k - 1] < times[k - 1]) kept = k;
  return kept;
}

/**
 * Each function's live executors and helpers (serving, most recent first, busy ones first) and the ones it
 * keeps serving it (its keptContainers first ones).
 */
function containersKept(
  view: NodeView,
  fns: Map<string, FunctionView>,
  nowMs: number,
  s: PagurusSettings,
  removed: ReadonlySet<string> = new Set(),
): { kept: Set<string>; keeps: Map<string, number>; serving: Map<string, ContainerView[]> } {
  const serving = new Map<string, ContainerView[]>();
  for (const c of view.containers) {
    if (!isLive(c) || removed.has(c.id) || (c.role !== ContainerRole.EXECUTOR && c.role !== ContainerRole.HELPER) || c.functionName === "") continue;
    const list = serving.get(c.functionName) ?? [];
    list.push(c);
    serving.set(c.functionName, list);
  }
  const kept = new Set<string>();
  const keeps = new Map<string, number>();
  for (const [name, list] of serving) {
    list.sort((a, b) => Number(b.inflight > 0) - Number(a.inflight > 0) || b.lastUsedAt - a.lastUsedAt || byId(a, b));
    const n = keptContainers(fns.get(name), nowMs, s);
    keeps.set(name, n);
    for (const c of list.slice(0, n)) kept.add(c.id);
  }
  return { kept, keeps, serving };
}

/**
 * How long a zygote may stay idle (from its former function's last use): keepAliveMs, stretched by the
 * memory it gave back when it became a zygote, so that it holds the executor's memory-seconds and no more.
 * A zygote started empty, or of a function no longer known, or not smaller: keepAliveMs.
 */
export function zygoteKeepAliveMs(c: ContainerView, formerMemoryMb: number | undefined, keepAliveMs: number): number {
  if (!formerMemoryMb || !(c.memoryMb > 0) || c.memoryMb >= formerMemoryMb) return keepAliveMs;
  const idleAtConversion = Math.min(keepAliveMs, Math.max(0, c.roleSince - c.lastUsedAt));
  return Math.round(idleAtConversion + ((keepAliveMs - idleAtConversion) * formerMemoryMb) / c.memoryMb);
}

/**
 * Keep-alive removals less those of the newest zygotes covering an active function that the reserve needs:
 * while functions arrive, the reserve's zygotes are not removed for idleness.
 */
function spareReserve(actions: PolicyAction[], view: NodeView, reserve: number, coversActive: (c: ContainerView) => boolean): PolicyAction[] {
  const removing = new Set(actions.map((a) => (a.kind === "remove" ? a.containerId : "")));
  const zygotes = view.containers.filter((c) => c.role === ContainerRole.ZYGOTE && isLive(c) && coversActive(c));
  let standing = zygotes.filter((c) => !removing.has(c.id)).length;
  const spared = new Set<string>();
  for (const c of zygotes.filter((z) => removing.has(z.id)).sort((a, b) => b.roleSince - a.roleSince || byId(a, b))) {
    if (standing >= reserve) break;
    spared.add(c.id);
    standing++;
  }
  return spared.size === 0 ? actions : actions.filter((a) => a.kind !== "remove" || !spared.has(a.containerId));
}

/** The package set a reserve zygote starts from: the one that covers the most active functions. */
function reserveSet(sets: readonly PackageSetView[], active: readonly FunctionView[], nowMs: number, keepAliveMs: number): PackageSetView | undefined {
  const ranked = sets
    .map((set) => {
      const served = active.filter((f) => covers(set.packages, f.dependencies));
      return { set, served: served.length, cold: served.reduce((n, f) => n + recentColdStarts(f, nowMs, keepAliveMs), 0) };
    })
    .filter((x) => x.served > 0)
    .sort((a, b) => b.served - a.served || b.cold - a.cold || a.set.packages.size - b.set.packages.size || byId(a.set, b.set));
  return ranked[0]?.set;
}

export function pagurusPolicy(options: PagurusOptions = {}): StartupPolicy {
  const s = settings(options);
  const { keepAliveMs } = s;
  return {
    name: "pagurus",
    decide(view: NodeView, nowMs: number): PolicyAction[] {
      const fns = functionsByName(view);
      const active = s.reserveZygotes > 0 ? view.functions.filter((f) => f.arrivals.length > 0 && nowMs - f.arrivals[f.arrivals.length - 1] < keepAliveMs) : [];
      const coversActive = (c: ContainerView) => active.some((f) => covers(c.packages, f.dependencies));
      let actions = keepAliveRemovals(view.containers, nowMs, (c) =>
        c.role === ContainerRole.ZYGOTE ? zygoteKeepAliveMs(c, fns.get(c.formerFunction)?.memoryMb, keepAliveMs) : keepAliveMs,
      );
      if (active.length > 0) actions = spareReserve(actions, view, s.reserveZygotes, coversActive);
      const removed = new Set(actions.map((a) => (a.kind === "remove" ? a.containerId : "")));
      const { kept, keeps } = containersKept(view, fns, nowMs, s, removed);
      const ztOf = (name: string): number => zygoteTime(fns.get(name), s);

      // An idle executor (or helper) its function does not keep, idle at least minIdleMs.
      const convertible = (c: ContainerView, minIdleMs: number): boolean =>
        (c.role === ContainerRole.EXECUTOR || (s.zygotesFromHelpers && c.role === ContainerRole.HELPER)) &&
        isIdle(c) &&
        !removed.has(c.id) &&
        !kept.has(c.id) &&
        idleMs(c, nowMs) >= minIdleMs;

      // Functions with recent cold starts: the ones waiting for a lender.
      const coldFns = view.functions.filter((f) => recentColdStarts(f, nowMs, keepAliveMs) > 0);
      const candidates = view.containers
        .filter((c) => convertible(c, ztOf(c.functionName)))
        .map((c) => ({ c, serves: coldFns.filter((g) => g.name !== c.functionName && covers(c.packages, g.dependencies)).length }))
        .sort((a, b) => b.serves - a.serves || a.c.lastUsedAt - b.c.lastUsedAt || byId(a.c, b.c));

      const lenders = new Map<string, number>();
      for (const c of view.containers) {
        if (isLive(c) && !removed.has(c.id) && c.role === ContainerRole.ZYGOTE && c.formerFunction !== "") {
          lenders.set(c.formerFunction, (lenders.get(c.formerFunction) ?? 0) + 1);
        }
      }
      const converted = new Set<string>();
      const convert = (c: ContainerView, reason: string): boolean => {
        const lent = lenders.get(c.functionName) ?? 0;
        if (lent >= s.maxLendersPerFunction) return false;
        lenders.set(c.functionName, lent + 1);
        converted.add(c.id);
        actions.push({ kind: "become-zygote", containerId: c.id, reason });
        return true;
      };
      for (const { c, serves } of candidates) {
        const f = c.functionName;
        convert(c, `idle for ${idleMs(c, nowMs)} ms >= zygote time ${ztOf(f)} ms of ${f}, which keeps ${keeps.get(f) ?? 0} container(s); covers ${serves} function(s) with recent cold starts`);
      }
      if (active.length === 0) return actions;

      // The reserve: zygotes standing (or on their way) that cover an active function.
      let missing = s.reserveZygotes;
      for (const c of view.containers) {
        if (c.role === ContainerRole.ZYGOTE && isLive(c) && !removed.has(c.id) && coversActive(c)) missing--;
      }
      for (const c of view.containers) if (converted.has(c.id) && coversActive(c)) missing--;
      if (missing <= 0) return actions;
      const early = view.containers
        .filter((c) => !converted.has(c.id) && convertible(c, s.minZygoteTimeMs) && coversActive(c))
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt || byId(a, b));
      for (const c of early) {
        if (missing <= 0) break;
        if (convert(c, `reserve of ${s.reserveZygotes} zygote(s): idle for ${idleMs(c, nowMs)} ms, ${c.functionName} does not keep it`)) missing--;
      }
      const set = reserveSet(view.packageSets, active, nowMs, keepAliveMs);
      for (; missing > 0 && set; missing--) {
        actions.push({ kind: "start-zygote", setId: set.id, reason: `reserve of ${s.reserveZygotes} zygote(s) for the functions of set ${set.id}` });
      }
      return actions;
    },
    chooseLender(renter: FunctionView, candidates: readonly ContainerView[], view: NodeView, nowMs: number): string | undefined {
      const fns = functionsByName(view);
      const robs = (c: ContainerView): number =>
        c.formerFunction !== "" && c.formerFunction !== renter.name && recentColdStarts(fns.get(c.formerFunction), nowMs, keepAliveMs) > 0 ? 1 : 0;
      const ranked = candidates
        .filter((c) => isIdle(c))
        .map((c) => ({ c, sim: jaccard(c.packages, renter.dependencies), waste: extraPackages(c.packages, renter.dependencies), robs: robs(c) }))
        .sort((a, b) => b.sim - a.sim || a.waste - b.waste || a.robs - b.robs || b.c.roleSince - a.c.roleSince || byId(a.c, b.c));
      return ranked[0]?.c.id;
    },
    convertForRenter(renter: FunctionView, candidates: readonly ContainerView[], view: NodeView, nowMs: number): string | undefined {
      if (!s.convertOnDemand) return undefined;
      const { kept, serving } = containersKept(view, functionsByName(view), nowMs, s);
      const ranked = candidates
        .filter(
          (c) =>
            (c.role === ContainerRole.EXECUTOR || (s.zygotesFromHelpers && c.role === ContainerRole.HELPER)) &&
            c.functionName !== renter.name &&
            isIdle(c) &&
            idleMs(c, nowMs) >= s.minZygoteTimeMs &&
            (!kept.has(c.id) || (serving.get(c.functionName)?.length ?? 0) >= 2),
        )
        .map((c) => ({ c, kept: kept.has(c.id) ? 1 : 0, waste: extraPackages(c.packages, renter.dependencies) }))
        .sort((a, b) => a.kept - b.kept || a.waste - b.waste || a.c.lastUsedAt - b.c.lastUsedAt || byId(a.c, b.c));
      return ranked[0]?.c.id;
    },
  };
}
