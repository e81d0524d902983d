// The deployed functions the builder knows of and the plan made from them. A new plan (and a higher
// generation) only when the sets (or the popular set) actually change, so consumers can cache by generation.
import { create } from "@bufbuild/protobuf";
import { nowUnixUs } from "../../common/clock.js";
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { PackageSetSchema, PlanSchema, type PackageSet, type Plan } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import { planPackageSets, popularSet, type FunctionPackages, type PlannerOptions } from "./planner.js";

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
    const functions = [...this.#functions.values()];
    const sets = planPackageSets(functions, this.options);
    const popular = popularSet(functions, this.options.maxPackages);
    const fingerprint = JSON.stringify({ sets, popular });
    if (fingerprint === this.#fingerprint) return false;
    this.#fingerprint = fingerprint;
    this.#plan = create(PlanSchema, {
      generation: this.#plan.generation + 1n,
      plannedAtUnixUs: nowUnixUs(),
      sets: sets.map((s) => create(PackageSetSchema, { id: s.id, packages: s.packages, functions: s.functions })),
      popular: popular && create(PackageSetSchema, { id: popular.id, packages: popular.packages, functions: popular.functions }),
    });
    return true;
  }

  /** The planned set holding this function; undefined when it has none (no dependencies, or too many). */
  setOf(name: string): PackageSet | undefined {
    return this.#plan.sets.find((s) => s.functions.includes(name));
  }

  /** A set of the current plan by id: one of the groups, or the popular set. */
  findSet(id: string): PackageSet | undefined {
    return this.#plan.sets.find((s) => s.id === id) ?? (this.#plan.popular?.id === id ? this.#plan.popular : undefined);
  }
}
