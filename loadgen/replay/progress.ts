// A live progress line on stderr: how far the replay is, throughput over the last second, the share of
// cold starts and errors so far. On a terminal it redraws in place; otherwise it prints a line every 5 s.

export interface ProgressCounters {
  dispatched: number;
  done: number;
  cold: number;
  errors: number;
}

export class ProgressBar {
  readonly #timer: NodeJS.Timeout;
  readonly #tty = Boolean(process.stderr.isTTY);
  readonly #startedAt = performance.now();
  #lastDone = 0;
  #lastAt = performance.now();
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
    const rate = ((c.done - this.#lastDone) * 1000) / Math.max(1, now - this.#lastAt);
    this.#lastDone = c.done;
    this.#lastAt = now;
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
