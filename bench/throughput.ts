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
