// Arrival-time models for sources that only give counts. Each returns ascending times in trace ms
// relative to the window start; the builder compresses them. Pure: counts and a seeded stream in.
import { exponential, type Random } from "./prng.js";

const MINUTE_MS = 60_000;

/**
 * Pagurus-style: each minute's count c spread evenly inside the minute, at the middles of c equal
 * slots (not at the slot starts, which would fire every function at once on each minute boundary).
 */
export function evenPerMinute(perMinute: Uint32Array, startMinute: number, endMinute: number): number[] {
  const times: number[] = [];
  for (let minute = startMinute; minute < endMinute; minute++) {
    const count = perMinute[minute];
    const base = (minute - startMinute) * MINUTE_MS;
    for (let i = 0; i < count; i++) times.push(base + ((i + 0.5) * MINUTE_MS) / count);
  }
  return times;
}

/** A Poisson process whose rate in each minute is that minute's count (exponential inter-arrivals). */
export function poissonPerMinute(perMinute: Uint32Array, startMinute: number, endMinute: number, random: Random): number[] {
  const times: number[] = [];
  for (let minute = startMinute; minute < endMinute; minute++) {
    const count = perMinute[minute];
    if (count === 0) continue;
    // Memorylessness makes restarting at each minute boundary exact for a piecewise-constant rate.
    const base = (minute - startMinute) * MINUTE_MS;
    const ratePerMs = count / MINUTE_MS;
    for (let t = exponential(random, ratePerMs); t < MINUTE_MS; t += exponential(random, ratePerMs)) times.push(base + t);
  }
  return times;
}

/** n arrivals at the middles of n equal slots of the window. */
export function evenOverWindow(n: number, lengthMs: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i + 0.5) * lengthMs) / n);
}

/** A homogeneous Poisson process over the window. */
export function poissonOverWindow(ratePerMs: number, lengthMs: number, random: Random): number[] {
  const times: number[] = [];
  if (ratePerMs <= 0) return times;
  for (let t = exponential(random, ratePerMs); t < lengthMs; t += exponential(random, ratePerMs)) times.push(t);
  return times;
}

/**
 * floor(x) plus one with probability frac(x): an integer count whose expectation is x, so a window's
 * share of a daily total is not biased towards zero for the many rarely invoked functions.
 */
export function stochasticRound(x: number, random: Random): number {
  const whole = Math.floor(x);
  return whole + (random() < x - whole ? 1 : 0);
}
