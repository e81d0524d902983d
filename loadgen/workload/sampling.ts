// Choosing which functions a workload replays. Pure: the candidates and a seeded random stream in, the
// chosen functions (in rank order: most invoked first, ties by id) and a description out.
import type { SampleOption } from "./options.js";
import type { Random } from "./prng.js";

export interface Sampleable {
  readonly id: string;
  readonly app: string;
  readonly dailyCount: number;
}

export interface Sample<T> {
  readonly chosen: T[];
  readonly description: string;
}

/** Most invoked first; ties by id so the order does not depend on the input order. */
export function byRank<T extends Sampleable>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => b.dailyCount - a.dailyCount || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** k distinct indices of 0..n-1, uniformly (partial Fisher–Yates), ascending. */
export function drawWithoutReplacement(n: number, k: number, random: Random): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}

/** Bounds [start, end) of K rank strata over n items, sizes differing by at most one. */
export function strataBounds(n: number, strata: number): Array<[number, number]> {
  return Array.from({ length: strata }, (_, i): [number, number] => [Math.floor((i * n) / strata), Math.floor(((i + 1) * n) / strata)]);
}

export function sampleFunctions<T extends Sampleable>(candidates: readonly T[], sample: SampleOption, random: Random): Sample<T> {
  const ranked = byRank(candidates);
  switch (sample.kind) {
    case "all":
      return { chosen: ranked, description: `all ${ranked.length} functions` };
    case "rank-stratified":
      return rankStratified(ranked, sample.functions, sample.strata, random);
    case "apps":
      return wholeApps(ranked, sample.apps, random);
  }
}

function rankStratified<T extends Sampleable>(ranked: T[], functions: number, strata: number, random: Random): Sample<T> {
  const perStratum = functions / strata;
  const bounds = strataBounds(ranked.length, strata);
  const sizes = bounds.map(([start, end]) => end - start);
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  if (strata > ranked.length || perStratum > smallest) {
    throw new RangeError(
      `cannot draw ${perStratum} functions from each of ${strata} strata: the source has ${ranked.length} functions, so the smallest stratum holds ${strata > ranked.length ? 0 : smallest}`,
    );
  }
  const chosen: T[] = [];
  for (const [start, end] of bounds) {
    for (const i of drawWithoutReplacement(end - start, perStratum, random)) chosen.push(ranked[start + i]);
  }
  return {
    chosen,
    description: `rank-stratified: ${functions} of ${ranked.length} functions, ${perStratum} drawn from each of ${strata} strata of ${smallest === largest ? smallest : `${smallest}–${largest}`} functions by invocation count`,
  };
}

function wholeApps<T extends Sampleable>(ranked: T[], apps: number, random: Random): Sample<T> {
  if (ranked.some((f) => f.app === "")) throw new RangeError(`apps sampling needs app ids, and this source has functions without one`);
  const allApps = [...new Set(ranked.map((f) => f.app))].sort();
  if (apps > allApps.length) throw new RangeError(`cannot draw ${apps} apps: the source has ${allApps.length}`);
  const drawn = new Set(drawWithoutReplacement(allApps.length, apps, random).map((i) => allApps[i]));
  const chosen = ranked.filter((f) => drawn.has(f.app));
  return { chosen, description: `apps: ${apps} of ${allApps.length} apps drawn uniformly, all ${chosen.length} of their functions` };
}
