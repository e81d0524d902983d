// In-batch de-duplication for functions that declare themselves pure: members whose payloads are the
// same bytes run once, and the others get that run's outcome. Never across functions or batches, and
// never for a function that did not say it is pure (its result may depend on time, randomness or state).

export interface IdenticalGroups<T> {
  /** One member per distinct payload, in order of first appearance: these run. */
  readonly runs: readonly T[];
  /** For a member that runs, the members with the same payload that share its outcome. */
  readonly copiesOf: ReadonlyMap<T, readonly T[]>;
}

export function groupIdenticalPayloads<T>(members: readonly T[], payloadOf: (m: T) => Uint8Array): IdenticalGroups<T> {
  const first = new Map<string, T>();
  const runs: T[] = [];
  const copiesOf = new Map<T, T[]>();
  for (const m of members) {
    // latin1 maps each byte to one code unit: equal keys exactly when the bytes are equal.
    const key = Buffer.from(payloadOf(m)).toString("latin1");
    const leader = first.get(key);
    if (leader === undefined) {
      first.set(key, m);
      runs.push(m);
      copiesOf.set(m, []);
    } else copiesOf.get(leader)!.push(m);
  }
  return { runs, copiesOf };
}
