// Package sets: package name -> exact version. One definition of "the same package" (same name at the
// same version) for the zygote planner, the node's policies and the pool's coverage check.

export type Packages = ReadonlyMap<string, string>;

/** Packages held by both at the same version. */
export function sharedPackages(a: Packages, b: Packages): number {
  let n = 0;
  for (const [pkg, version] of a) if (b.get(pkg) === version) n++;
  return n;
}

/**
 * Jaccard similarity of two package sets, a package shared only at the same version. Two empty sets are
 * identical (1): an empty zygote is the perfect match for a function without dependencies.
 */
export function jaccard(a: Packages, b: Packages): number {
  const shared = sharedPackages(a, b);
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/** True when the set holds every dependency at its exact version. */
export function covers(set: Packages, dependencies: Packages): boolean {
  for (const [pkg, version] of dependencies) if (set.get(pkg) !== version) return false;
  return true;
}
