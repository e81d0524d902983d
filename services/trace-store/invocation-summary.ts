// Counts, latency percentiles and phase means of a set of invocation records, per start kind and for the
// whole set. Pure: the store feeds it rows, one at a time, so a summary never holds row objects in memory.
import { StartKind, InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { nearestRank, sortedCopy } from "../../common/percentiles.js";

/**
 * What a summary needs of one record; durations in µs. A record that came without timings has them all
 * null: it counts as an invocation (and an error or cold start), but not in the latency figures, where a
 * zero would pull the percentiles down.
 */
export interface InvocationSample {
  readonly startKind: number;
  readonly status: number;
  readonly queuedUs: number | null;
  readonly startupUs: number | null;
  readonly initUs: number | null;
  readonly execUs: number | null;
  readonly totalUs: number | null;
}

type TimedSample = { readonly [K in keyof InvocationSample]: NonNullable<InvocationSample[K]> };

export interface LatencyStats {
  /** START_KIND_UNSPECIFIED stands for the whole set. */
  readonly startKind: StartKind;
  /** Records with timings. */
  readonly count: number;
  readonly p50Us: number;
  readonly p95Us: number;
  readonly p99Us: number;
  readonly meanQueuedUs: number;
  readonly meanStartupUs: number;
  readonly meanInitUs: number;
  readonly meanExecUs: number;
}

export interface InvocationSummary {
  readonly invocations: number;
  /** Records whose status is not OK. */
  readonly errors: number;
  readonly coldStarts: number;
  /** The whole set first, then one entry per start kind seen, ascending. */
  readonly latency: LatencyStats[];
}

function isTimed(s: InvocationSample): s is TimedSample {
  return s.queuedUs !== null && s.startupUs !== null && s.initUs !== null && s.execUs !== null && s.totalUs !== null;
}

class LatencyAccumulator {
  readonly totals: number[] = [];
  queued = 0;
  startup = 0;
  init = 0;
  exec = 0;

  add(s: TimedSample): void {
    this.totals.push(s.totalUs);
    this.queued += s.queuedUs;
    this.startup += s.startupUs;
    this.init += s.initUs;
    this.exec += s.execUs;
  }

  stats(startKind: StartKind): LatencyStats {
    const count = this.totals.length;
    const sorted = sortedCopy(this.totals);
    const mean = (sum: number) => (count === 0 ? 0 : Math.round(sum / count));
    return {
      startKind,
      count,
      p50Us: nearestRank(sorted, 50),
      p95Us: nearestRank(sorted, 95),
      p99Us: nearestRank(sorted, 99),
      meanQueuedUs: mean(this.queued),
      meanStartupUs: mean(this.startup),
      meanInitUs: mean(this.init),
      meanExecUs: mean(this.exec),
    };
  }
}

export class InvocationSummarizer {
  #invocations = 0;
  #errors = 0;
  #coldStarts = 0;
  readonly #all = new LatencyAccumulator();
  readonly #byKind = new Map<number, LatencyAccumulator>();

  add(sample: InvocationSample): void {
    this.#invocations++;
    if (sample.status !== InvocationStatus.OK) this.#errors++;
    if (sample.startKind === StartKind.COLD) this.#coldStarts++;
    if (!isTimed(sample)) return;
    this.#all.add(sample);
    // Records without a start kind only count in the whole set: UNSPECIFIED is that entry's name.
    if (sample.startKind === StartKind.UNSPECIFIED) return;
    let acc = this.#byKind.get(sample.startKind);
    if (!acc) this.#byKind.set(sample.startKind, (acc = new LatencyAccumulator()));
    acc.add(sample);
  }

  result(): InvocationSummary {
    const kinds = [...this.#byKind.keys()].sort((a, b) => a - b);
    return {
      invocations: this.#invocations,
      errors: this.#errors,
      coldStarts: this.#coldStarts,
      latency: [this.#all.stats(StartKind.UNSPECIFIED), ...kinds.map((k) => this.#byKind.get(k)!.stats(k))],
    };
  }
}
