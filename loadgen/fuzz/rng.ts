// The fuzzer's randomness: every case is a pure function of (seed, case index), drawn from its own
// stream (loadgen/workload/prng.ts), so one failing case replays alone with `--seed S --only I`,
// whatever the concurrency and whatever ran before it.
import { streamFor, type Random } from "../workload/prng.js";

export class Rng {
  constructor(readonly next: Random) {}

  static forCase(seed: number, index: number): Rng {
    return new Rng(streamFor(seed, `fuzz-case:${index}`));
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** One of the items, by weight. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let x = this.next() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1][0];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** Mostly small lengths, sometimes large ones: most bugs hide at the edges. */
  length(max: number): number {
    const r = this.next();
    if (r < 0.6) return this.int(0, Math.min(16, max));
    if (r < 0.9) return this.int(0, Math.min(256, max));
    return this.int(0, max);
  }

  /** Printable ASCII (what an HTTP header value may hold). */
  ascii(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0x20, 0x7e));
    return s;
  }

  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[this.int(0, 15)];
    return s;
  }
}
