// A live progress line on stderr: how far the replay is, throughput over the last 5 s, the share of
// cold starts and errors so far. On a terminal it redraws in place; otherwise it prints a line every 5 s.

export interface ProgressCounters {
  dispatched: number;
  done: number;
  cold: number;
  errors: number;
}

const RATE_WINDOW_MS = 5000;

export class ProgressBar {
  readonly #timer: NodeJS.Timeout;
  readonly #tty = Boolean(process.stderr.isTTY);
  readonly #startedAt = performance.now();
  /** (time, done) samples of the last RATE_WINDOW_MS, oldest first: a rate over 250 ms is mostly noise. */
  readonly #samples: Array<{ at: number; done: number }> = [{ at: performance.now(), done: 0 }];
  #lastPrintAt = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly durationMs: number,
    private readonly counters: ProgressCounters,
  ) {
    this.#timer = setInterval(() => this.#draw(false), 250);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#draw(true);
    if (this.#tty) process.stderr.write("\n");
  }

  #draw(final: boolean): void {
    const now = performance.now();
    const c = this.counters;
    this.#samples.push({ at: now, done: c.done });
    while (this.#samples.length > 2 && now - this.#samples[1].at >= RATE_WINDOW_MS) this.#samples.shift();
    const oldest = this.#samples[0];
    const rate = ((c.done - oldest.done) * 1000) / Math.max(1, now - oldest.at);
    const share = (n: number) => (c.done === 0 ? "0.0" : ((100 * n) / c.done).toFixed(1));
    const fraction = Math.min(1, this.total === 0 ? 1 : c.dispatched / this.total);
    const width = 24;
    const bar = "#".repeat(Math.round(fraction * width)).padEnd(width, ".");
    const elapsed = ((now - this.#startedAt) / 1000).toFixed(0);
    const line = `${this.label} [${bar}] ${c.dispatched}/${this.total} sent, ${c.done} done, ${c.dispatched - c.done} in flight, ${rate.toFixed(0)}/s, cold ${share(c.cold)}%, errors ${share(c.errors)}%, ${elapsed}/${(this.durationMs / 1000).toFixed(0)} s`;
    if (this.#tty) process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 160) - 1)}\x1b[K`);
    else if (final || now - this.#lastPrintAt >= 5000) {
      this.#lastPrintAt = now;
      process.stderr.write(`${line}\n`);
    }
  }
}
