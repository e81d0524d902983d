// The values of many promises, yielded in the order they settle (a batch's members streamed back the
// moment each is done, not in the order they were sent). A rejection is thrown when it is reached,
// after the values that settled before it.

export async function* inCompletionOrder<T>(promises: readonly Promise<T>[]): AsyncGenerator<T> {
  const settled: Array<{ ok: true; value: T } | { ok: false; error: unknown }> = [];
  let wake: (() => void) | undefined;
  for (const p of promises) {
    p.then(
      (value) => settled.push({ ok: true, value }),
      (error: unknown) => settled.push({ ok: false, error }),
    ).finally(() => wake?.());
  }
  for (let remaining = promises.length; remaining > 0; ) {
    if (settled.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    while (settled.length > 0) {
      const s = settled.shift()!;
      remaining--;
      if (!s.ok) throw s.error;
      yield s.value;
    }
  }
}
