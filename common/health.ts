// The standard grpc.health.v1 service, answering for the whole server ("") and for every service name.
import type { ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";

export class HealthStatus {
  #serving = false;
  readonly #watchers = new Set<() => void>();
  get serving(): boolean {
    return this.#serving;
  }
  set(serving: boolean): void {
    if (serving === this.#serving) return;
    this.#serving = serving;
    for (const w of this.#watchers) w();
  }
  watch(fn: () => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }
}

export function registerHealthService(router: ConnectRouter, health: HealthStatus): void {
  const status = () => (health.serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  router.service(Health, {
    check: () => ({ status: status() }),
    async *watch(_req, ctx) {
      let changed: () => void = () => {};
      const unwatch = health.watch(() => changed());
      try {
        while (!ctx.signal.aborted) {
          yield { status: status() };
          await new Promise<void>((resolve) => {
            changed = resolve;
            ctx.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
      } finally {
        unwatch();
      }
    },
  });
}
