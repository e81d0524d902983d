// A bounded wait on a promise that cannot be cancelled (a worker's import, its exit).

/** The promise's value, or undefined once ms have passed. */
export function waitAtMost<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms <= 0) return Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]).finally(() => clearTimeout(timer));
}
