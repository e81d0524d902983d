// Closed-loop throughput: `clients` callers, each invoking again as soon as its last call returned,
// for `seconds`. Shared by the benchmarks that report throughput_rps.
export async function closedLoopRps(call: () => Promise<unknown>, clients: number, seconds: number): Promise<number> {
  return (await closedLoop(call, clients, seconds)).rps;
}

/** closedLoopRps with the number of calls made. */
export async function closedLoop(call: () => Promise<unknown>, clients: number, seconds: number): Promise<{ rps: number; calls: number }> {
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        await call();
        done++;
      }
    }),
  );
  return { rps: done / (Number(process.hrtime.bigint() - t0) / 1e9), calls: done };
}

/**
 * Open loop: calls started at `rps` a second for `seconds`, whatever the answers do, at most `maxInFlight`
 * at once (a call that would pass it is skipped and counted). The work offered is the same for every
 * contender, so CPU per call compares what each spends on one invocation, not how many calls shared a
 * wake-up (which a saturated closed loop mixes in).
 */
export async function openLoop(call: () => Promise<unknown>, rps: number, seconds: number, maxInFlight: number): Promise<{ rps: number; calls: number; skipped: number }> {
  const t0 = performance.now();
  const total = Math.round(rps * seconds);
  let started = 0;
  let skipped = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  let failure: unknown;
  while (started + skipped < total) {
    // Start every call whose time has come, then sleep until the next one's.
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rps) + 1);
    while (started + skipped < due) {
      if (inFlight >= maxInFlight) {
        skipped++;
        continue;
      }
      inFlight++;
      started++;
      pending.push(
        call().then(
          () => void inFlight--,
          (err) => {
            inFlight--;
            failure ??= err;
          },
        ),
      );
    }
    const next = ((started + skipped) / rps) * 1000 - (performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next)));
  }
  await Promise.all(pending);
  if (failure) throw failure;
  return { rps: started / ((performance.now() - t0) / 1000), calls: started, skipped };
}
