// Measured memory-time: how many MB·s of resident memory the containers used inside a time window, from
// the periodic ContainerUsageSampled samples. Limits (memory-seconds.ts) say what was reserved; this says
// what was used, which is what zygote sharing and packing save.
//
// A container's RSS is a step function: each sample's value holds from its instant until the container's
// next sample, clipped to its lifetime (from its first event to REMOVED, or now while it lives). Before
// its first sample its RSS is unknown and counts 0: a starting container's memory grows, so carrying
// the first sample backwards would charge memory it did not have yet. 1 MB = 2^20 bytes, as Docker's
// memory limits count it, so RSS and limit MB·s compare. Instants are Unix µs as plain numbers.
import { overlapUs, type TimeWindow } from "./memory-seconds.js";

export interface RssSample {
  readonly atUs: number;
  readonly rssBytes: number;
}

export interface SampledContainer {
  readonly createdAtUs: number;
  /** Null while the container exists. */
  readonly removedAtUs: number | null;
  /** Ascending by atUs. */
  readonly samples: readonly RssSample[];
}

const US_PER_SECOND = 1_000_000;
const BYTES_PER_MB = 1024 * 1024;

/** RSS MB·s of one container inside the window; time that has not happened yet (after nowUs) is never charged. */
export function containerRssMbSeconds(container: SampledContainer, window: TimeWindow, nowUs: number): number {
  const { samples } = container;
  const from = Math.max(container.createdAtUs, window.sinceUs ?? -Infinity);
  const to = Math.min(container.removedAtUs ?? nowUs, window.untilUs ?? Infinity, nowUs);
  if (to <= from || samples.length === 0) return 0;
  let byteUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const end = i + 1 < samples.length ? samples[i + 1].atUs : Infinity;
    byteUs += overlapUs(samples[i].atUs, end, from, to) * samples[i].rssBytes;
  }
  return byteUs / BYTES_PER_MB / US_PER_SECOND;
}

/** Sum of containerRssMbSeconds over the containers. */
export function rssMbSeconds(containers: Iterable<SampledContainer>, window: TimeWindow, nowUs: number): number {
  let total = 0;
  for (const c of containers) total += containerRssMbSeconds(c, window, nowUs);
  return total;
}
