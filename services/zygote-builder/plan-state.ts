// The deployed functions the builder knows of and the plan made from them. A new plan (and a higher
// generation) only when the sets actually change, so consumers can cache by generation.
import { create } from "@bufbuild/protobuf";
import { nowUnixUs } from "../../common/clock.js";
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { PackageSetSchema, PlanSchema, type Plan } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import { planPackageSets, type FunctionPackages, type PlannerOptions } from "./planner.js";

export class PlanState {
  readonly #functions = new Map<string, FunctionPackages>();
  /** Names changed by events since a snapshot began, so that an older snapshot cannot undo them. */
  readonly #touched = new Set<string>();
  #plan: Plan = create(PlanSchema, { generation: 0n, plannedAtUnixUs: nowUnixUs() });
  #fingerprint = "";

  constructor(private readonly options: PlannerOptions) {}

  get plan(): Plan {
    return this.#plan;
  }

  deployed(spec: FunctionSpec): void {
    this.#functions.set(spec.name, { name: spec.name, dependencies: { ...spec.dependencies } });
    this.#touched.add(spec.name);
  }

  removed(name: string): void {
    this.#functions.delete(name);
    this.#touched.add(name);
  }

  beginSnapshot(): void {
    this.#touched.clear();
  }

  /** The full list as the gateway had it when the snapshot began. */
  applySnapshot(specs: readonly FunctionSpec[]): void {
    const listed = new Set(specs.map((s) => s.name));
    for (const name of [...this.#functions.keys()]) if (!listed.has(name) && !this.#touched.has(name)) this.#functions.delete(name);
    for (const s of specs) if (!this.#touched.has(s.name)) this.#functions.set(s.name, { name: s.name, dependencies: { ...s.dependencies } });
  }

  /** Recomputes the plan; returns true when it changed. */
  replan(): boolean {
    const sets = planPackageSets([...this.#functions.values()], this.options);
    const fingerprint = JSON.stringify(sets);
    if (fingerprint === this.#fingerprint) return false;
    this.#fingerprint = fingerprint;
    this.#plan = create(PlanSchema, {
      generation: this.#plan.generation + 1n,
      plannedAtUnixUs: nowUnixUs(),
      sets: sets.map((s) => create(PackageSetSchema, { id: s.id, packages: s.packages, functions: s.functions })),
    });
    return true;
  }
}
