// Seeded pseudo-random numbers (mulberry32) so that a workload is a pure function of its options.
// Independent streams are derived per purpose ("sample", "arrivals:<function id>"), so a function's
// arrivals do not change when a different set of other functions is sampled.

export type Random = () => number;

/** Uniform in [0, 1) from a 32-bit state. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream for one purpose: the seed (any safe integer) and the label hashed together (FNV-1a). */
export function streamFor(seed: number, label: string): Random {
  let hash = 0x811c9dc5;
  const mixIn = (byte: number) => {
    hash = Math.imul(hash ^ (byte & 0xff), 0x01000193) >>> 0;
  };
  const high = Math.floor(seed / 4294967296);
  for (const word of [seed >>> 0, high >>> 0]) for (let shift = 0; shift < 32; shift += 8) mixIn(word >>> shift);
  for (let i = 0; i < label.length; i++) {
    const code = label.charCodeAt(i);
    mixIn(code);
    mixIn(code >>> 8);
  }
  return mulberry32(hash);
}

/** Exponentially distributed with the given rate (events per unit). */
export function exponential(random: Random, rate: number): number {
  return -Math.log(1 - random()) / rate;
}
