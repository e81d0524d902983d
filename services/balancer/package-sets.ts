// Package sets as the balancer compares them: "name@version" strings, exact versions only (a zygote holding
// sharp@0.33.1 does not cover a function pinned to sharp@0.33.2). Pure.

/** A function's pinned dependencies as sorted "name@version" keys, the form container events use. */
export function dependencyKeys(dependencies: Readonly<Record<string, string>>): readonly string[] {
  return Object.entries(dependencies)
    .map(([name, version]) => `${name}@${version}`)
    .sort();
}

/**
 * Whether a zygote's package set holds every dependency at its exact version. Unknown dependencies
 * (undefined) are covered by nothing: routing a function to a zygote that may lack its packages would
 * only trade a cold start here for a cold start there. No dependencies are covered by any set.
 */
export function covers(packages: ReadonlySet<string>, dependencies: readonly string[] | undefined): boolean {
  if (dependencies === undefined) return false;
  for (const d of dependencies) if (!packages.has(d)) return false;
  return true;
}

const EMPTY: ReadonlySet<string> = new Set();
// Containers share a handful of package sets (one per zygote image): interned, a set is built once, not
// on every event. Bounded so a long life of redeployments cannot grow it without end.
const MAX_INTERNED = 1024;
const interned = new Map<string, ReadonlySet<string>>();

/** The package set of a list of "name@version" strings, shared between equal lists. */
export function packageSet(packages: readonly string[]): ReadonlySet<string> {
  if (packages.length === 0) return EMPTY;
  const key = packages.join("\n");
  let set = interned.get(key);
  if (!set) {
    if (interned.size >= MAX_INTERNED) interned.clear();
    interned.set(key, (set = new Set(packages)));
  }
  return set;
}
