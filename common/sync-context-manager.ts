// An OpenTelemetry context manager that keeps the active context for the synchronous extent of
// context.with() only. Node 20's AsyncLocalStorage (the SDK's default) hooks every promise of the
// process once used, which costs the mesh's hot path more than all its spans (bench/tracing.ts); our
// code passes each invocation's context explicitly instead, and enters it synchronously where a log
// line is written or an event published.
import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

export class SyncContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.#active;
    this.#active = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}
