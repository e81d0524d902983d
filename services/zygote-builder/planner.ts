// Zygote package sets from the deployed functions' exact-pinned dependencies. Pure: the same functions
// always give the same plan. Greedy agglomerative grouping: start with one group per function and merge
// the most similar pair (Jaccard similarity of their name@version sets) while the merged set has no two
// versions of one package, stays within the size bound, and is similar enough to be worth sharing.
// Beside the groups, SOCK's single zygote of the most popular packages (popularSet), for comparison.
import { createHash } from "node:crypto";
import { sharedPackages } from "../../common/package-sets.js";

export interface FunctionPackages {
  readonly name: string;
  /** package -> exact version */
  readonly dependencies: Readonly<Record<string, string>>;
}

export interface PackageSetPlan {
  /** Content address of the packages: the same set keeps its id (and image) across re-plans. */
  readonly id: string;
  readonly packages: Record<string, string>;
  readonly functions: string[];
}

export interface PlannerOptions {
  /** Most packages one zygote may hold. */
  readonly maxPackages: number;
  /** Least Jaccard similarity for two groups to share a zygote, in [0, 1]. */
  readonly minSimilarity: number;
}

interface Group {
  packages: Map<string, string>;
  functions: string[];
}

const key = (pkg: string, version: string) => `${pkg}@${version}`;

/** The union of two package sets, or undefined when they pin one package to different versions. */
export function mergePackages(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): Map<string, string> | undefined {
  const out = new Map(a);
  for (const [pkg, v] of b) {
    const mine = out.get(pkg);
    if (mine !== undefined && mine !== v) return undefined;
    out.set(pkg, v);
  }
  return out;
}

/**
 * Jaccard similarity of two groups' package sets (same package = same name at the same version). Unlike
 * the lender choice's (common/package-sets.ts), two empty sets score 0: grouping is about packages worth
 * sharing, and an empty pair shares none.
 */
export function jaccard(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): number {
  const shared = sharedPackages(a, b);
  const union = a.size + b.size - shared;
  return union === 0 ? 0 : shared / union;
}

export function setId(packages: ReadonlyMap<string, string>): string {
  const canonical = [...packages].map(([p, v]) => key(p, v)).sort().join("\n");
  return `zs-${createHash("sha256").update(canonical).digest("hex").slice(0, 16)}`;
}

export function planPackageSets(functions: readonly FunctionPackages[], o: PlannerOptions): PackageSetPlan[] {
  let groups: Group[] = [...functions]
    .filter((f) => Object.keys(f.dependencies).length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((f) => ({ packages: new Map(Object.entries(f.dependencies).sort(([a], [b]) => (a < b ? -1 : 1))), functions: [f.name] }))
    // A function whose own dependencies exceed the bound cannot be served by a zygote.
    .filter((g) => g.packages.size <= o.maxPackages);

  for (;;) {
    let best: { i: number; j: number; similarity: number; merged: Map<string, string> } | undefined;
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        const similarity = jaccard(groups[i].packages, groups[j].packages);
        if (similarity < o.minSimilarity || (best && similarity <= best.similarity)) continue;
        const merged = mergePackages(groups[i].packages, groups[j].packages);
        if (!merged || merged.size > o.maxPackages) continue;
        best = { i, j, similarity, merged };
      }
    }
    if (!best) break;
    const { i, j, merged } = best;
    const joined: Group = { packages: merged, functions: [...groups[i].functions, ...groups[j].functions].sort() };
    groups = [...groups.filter((_, k) => k !== i && k !== j), joined];
  }

  return groups
    .map((g) => ({ id: setId(g.packages), packages: Object.fromEntries([...g.packages].sort(([a], [b]) => (a < b ? -1 : 1))), functions: g.functions }))
    .sort((a, b) => (a.functions[0] < b.functions[0] ? -1 : 1));
}

/**
 * SOCK's zygote: the packages used by the most deployed functions, at most maxPackages of them, one version
 * each (the version most functions pin). Ties go to the smaller name (package) or version string, so the
 * same functions always give the same set. Every function counts, also one too big for a group of its own:
 * popularity is about what is imported, not about what fits. Its functions are those it covers entirely.
 * Undefined when no function has dependencies.
 */
export function popularSet(functions: readonly FunctionPackages[], maxPackages: number): PackageSetPlan | undefined {
  const users = new Map<string, Map<string, number>>();
  for (const f of functions) {
    for (const [pkg, version] of Object.entries(f.dependencies)) {
      const versions = users.get(pkg) ?? new Map<string, number>();
      versions.set(version, (versions.get(version) ?? 0) + 1);
      users.set(pkg, versions);
    }
  }
  if (users.size === 0) return undefined;
  const total = (versions: Map<string, number>) => [...versions.values()].reduce((a, b) => a + b, 0);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const chosen = [...users]
    .sort(([a, va], [b, vb]) => total(vb) - total(va) || byName(a, b))
    .slice(0, maxPackages)
    .map(([pkg, versions]) => [pkg, [...versions].sort(([a, na], [b, nb]) => nb - na || byName(a, b))[0][0]] as const)
    .sort(([a], [b]) => byName(a, b));
  const packages = new Map(chosen);
  const covered = functions
    .filter((f) => Object.entries(f.dependencies).every(([pkg, v]) => packages.get(pkg) === v))
    .filter((f) => Object.keys(f.dependencies).length > 0)
    .map((f) => f.name)
    .sort(byName);
  return { id: setId(packages), packages: Object.fromEntries(chosen), functions: covered };
}
