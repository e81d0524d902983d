// The functions prepared on this node: for each, the current version's spec, its image, the package set
// the image builds FROM, and its copies in the code store. Preparing asks zygote-builder for the function's
// set first, so the function image builds FROM the set's zygote image. When that re-plan moved other
// functions prepared here into another set, their images are rebuilt on the new set too (from the code
// store), so that executors of one set keep sharing one base; running containers keep their old image.
import type { Logger } from "../../common/logger.js";
import type { FunctionCode, FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import type { CodeDirs, FunctionImages, ZygoteRef } from "./function-images.js";
import type { ZygoteAssigner } from "./zygote-assigner.js";

export interface CatalogEntry {
  readonly spec: FunctionSpec;
  readonly image: string;
  /** The package set the image builds FROM; undefined on the plain runtime image. */
  readonly setId?: string;
  /** That set's zygote image: a spare zygote of the set starts from it (undefined without a set). */
  readonly setImage?: string;
  /** The set's packages: what an idle container of this function can serve as a zygote ({} without a set). */
  readonly packages: Readonly<Record<string, string>>;
  /** The code store's copies; undefined only after a restart that found the image but not its code. */
  readonly codeDirs?: CodeDirs;
}

export interface PrepareResult {
  readonly entry: CatalogEntry;
  /** 0 when the image existed. */
  readonly buildUs: bigint;
  /** The version this one replaced, if any (the caller retires its containers when the digest changed). */
  readonly previous?: CatalogEntry;
  /** Other functions whose images were rebuilt on a new set because this deploy re-planned them. */
  readonly rebased: readonly string[];
}

export interface FunctionCatalogOptions {
  readonly images: Pick<FunctionImages, "ensure" | "rebase" | "list" | "remove" | "storedCode" | "removeCode">;
  /** zygote-builder's client; without one every function builds on the runtime image. */
  readonly assigner?: Pick<ZygoteAssigner, "assign" | "plan">;
  readonly logger: Logger;
}

export class FunctionCatalog {
  readonly #entries = new Map<string, CatalogEntry>();
  /** The last plan generation whose moves were applied: no GetPlan when an assignment did not change the plan. */
  #checkedGeneration = -1n;

  constructor(private readonly o: FunctionCatalogOptions) {}

  get(name: string): CatalogEntry | undefined {
    return this.#entries.get(name);
  }

  all(): CatalogEntry[] {
    return [...this.#entries.values()];
  }

  /** Assigns the function to its set, builds its image FROM the set's zygote image, and follows the re-plan. */
  async prepare(spec: FunctionSpec, code: FunctionCode): Promise<PrepareResult> {
    const zygote = await this.o.assigner?.assign(spec);
    const built = await this.o.images.ensure(spec, code, zygote);
    const previous = this.#entries.get(spec.name);
    const entry: CatalogEntry = { spec, image: built.image, setId: zygote?.setId, setImage: zygote?.image, packages: zygote?.packages ?? {}, codeDirs: built.codeDirs };
    this.#entries.set(spec.name, entry);
    if (previous && previous.spec.digest !== spec.digest) this.o.images.removeCode(previous.spec);
    // A function that joined a set may have changed it (new packages, new id); one that left a set changed it too.
    const planMayHaveMoved = zygote ? zygote.generation !== this.#checkedGeneration : previous?.setId !== undefined;
    const rebased = planMayHaveMoved ? await this.followPlan(spec.name) : [];
    return { entry, buildUs: built.buildUs, previous, rebased };
  }

  /** Forgets a function, removes its image (unless a container still uses it) and its code. */
  remove(name: string): CatalogEntry | undefined {
    const entry = this.#entries.get(name);
    if (!entry) return undefined;
    this.#entries.delete(name);
    void this.o.images.remove(entry.image);
    this.o.images.removeCode(entry.spec);
    return entry;
  }

  /** After a restart: the prepared functions from image labels (the newest image of each name). */
  async reconcileFromImages(): Promise<number> {
    let learned = 0;
    for (const p of await this.o.images.list()) {
      if (this.#entries.has(p.spec.name)) continue;
      this.#entries.set(p.spec.name, { spec: p.spec, image: p.image, setId: p.setId, setImage: p.setImage, packages: p.packages ?? {}, codeDirs: this.o.images.storedCode(p.spec) });
      learned++;
    }
    return learned;
  }

  /**
   * Rebuilds, in parallel, the images of the other functions here whose set in the current plan is not the
   * one their image builds FROM. A function that lost its set keeps its image: it still works.
   */
  private async followPlan(except: string): Promise<string[]> {
    const plan = await this.o.assigner?.plan();
    if (!plan) return [];
    const setOf = new Map<string, string>();
    for (const s of plan.sets) for (const f of s.functions) setOf.set(f, s.id);
    const moved = this.all().filter((e) => e.spec.name !== except && setOf.has(e.spec.name) && setOf.get(e.spec.name) !== e.setId);
    const results = await Promise.allSettled(moved.map((e) => this.rebase(e)));
    const rebased: string[] = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled" && r.value) rebased.push(moved[i].spec.name);
      else if (r.status === "rejected") this.o.logger.warn({ function: moved[i].spec.name, err: (r.reason as Error).message }, "rebuilding a function on its new package set failed; it keeps its image");
    });
    // Only a complete pass counts: a failed rebuild is retried after the next re-plan.
    if (results.every((r) => r.status === "fulfilled")) this.#checkedGeneration = plan.generation;
    if (rebased.length > 0) this.o.logger.info({ generation: Number(plan.generation), rebased }, "functions rebuilt on their new package sets");
    return rebased;
  }

  private async rebase(e: CatalogEntry): Promise<boolean> {
    // AssignFunction (not the plan) gives the new set's image built; it changes nothing for a known function.
    const zygote: ZygoteRef | undefined = await this.o.assigner?.assign(e.spec);
    if (!zygote || zygote.setId === e.setId) return false;
    const built = await this.o.images.rebase(e.spec, zygote);
    if (!built) throw new Error("its code is not in the code store");
    // A newer version prepared meanwhile wins.
    if (this.#entries.get(e.spec.name)?.spec.digest !== e.spec.digest) return false;
    this.#entries.set(e.spec.name, { ...e, image: built.image, setId: zygote.setId, setImage: zygote.image, packages: zygote.packages, codeDirs: built.codeDirs });
    return true;
  }
}
