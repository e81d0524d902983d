// How busy this host's CPUs are: the share of non-idle time over the last sampling interval, from the
// kernel's counters. The pool asks it before starting more containers of a busy function.
import * as fs from "node:fs";
import * as os from "node:os";

interface Sample {
  readonly busy: number;
  readonly total: number;
}

/** The "cpu" line of /proc/stat (cheap); os.cpus() elsewhere (it also reads /proc/cpuinfo: milliseconds). */
function sample(): Sample {
  try {
    const line = fs.readFileSync("/proc/stat", "latin1").slice(0, 256).split("\n", 1)[0];
    // cpu user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    return { busy: total - idle, total };
  } catch {
    let busy = 0;
    let total = 0;
    for (const { times } of os.cpus()) {
      const all = times.user + times.nice + times.sys + times.irq + times.idle;
      total += all;
      busy += all - times.idle;
    }
    return { busy, total };
  }
}

export class CpuMeter {
  #last = sample();
  #utilisation = 0;
  readonly #timer: NodeJS.Timeout;

  /** onSample runs after each new reading. */
  constructor(intervalMs: number, onSample: () => void = () => {}) {
    this.#timer = setInterval(() => {
      const now = sample();
      const total = now.total - this.#last.total;
      this.#utilisation = total > 0 ? (now.busy - this.#last.busy) / total : 0;
      this.#last = now;
      onSample();
    }, intervalMs);
    this.#timer.unref();
  }

  /** 0..1 over the last interval. */
  get utilisation(): number {
    return this.#utilisation;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
