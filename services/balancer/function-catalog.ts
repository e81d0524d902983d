// The dependencies (and limits) of the deployed functions, learnt from faas.functions events (FunctionDeployed /
// FunctionRemoved) and from the specs the balancer fans out in PrepareFunction. The balancer needs them
// to know which zygotes cover a function; a function it has not heard of has unknown dependencies.
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { dependencyKeys } from "./package-sets.js";

interface Known {
  readonly digest: string;
  readonly dependencies: readonly string[];
  readonly memoryMb: number;
  readonly maxConcurrency: number;
}

export class FunctionCatalog {
  readonly #functions = new Map<string, Known>();

  deployed(spec: Pick<FunctionSpec, "name" | "digest" | "dependencies"> & Partial<Pick<FunctionSpec, "limits">>): void {
    if (!spec.name) return;
    this.#functions.set(spec.name, {
      digest: spec.digest,
      dependencies: dependencyKeys(spec.dependencies),
      memoryMb: spec.limits?.memoryMb || 256,
      maxConcurrency: spec.limits?.maxConcurrency || 1,
    });
  }

  /** The function's memory and per-container concurrency limits, or undefined when unknown. */
  limits(name: string): { memoryMb: number; maxConcurrency: number } | undefined {
    const known = this.#functions.get(name);
    return known && { memoryMb: known.memoryMb, maxConcurrency: known.maxConcurrency };
  }

  removed(name: string): void {
    this.#functions.delete(name);
  }

  /**
   * The function's "name@version" dependencies, or undefined when unknown. A digest that differs from the
   * one learnt means another version whose dependencies may differ: unknown too.
   */
  dependencies(name: string, digest = ""): readonly string[] | undefined {
    const known = this.#functions.get(name);
    if (!known) return undefined;
    if (digest && known.digest && digest !== known.digest) return undefined;
    return known.dependencies;
  }
}
