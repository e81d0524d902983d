// What zygote-builder does with its plan: re-plans when functions change, builds the images of the
// planned sets on request (and the popular set's in the background), assigns a function to its set, and
// tells the mesh about every image it built (ZygoteImageBuilt on faas.zygotes).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { nowUnixUs } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { ZygoteImageBuiltSchema, type ZygoteImageBuilt } from "../../gen/faas/events/v1/events_pb.js";
import type { PackageSet, Plan } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import type { PlanState } from "./plan-state.js";
import type { ZygoteImages } from "./zygote-images.js";

export interface ZygoteBuilderOptions {
  readonly state: PlanState;
  readonly images: Pick<ZygoteImages, "ensure" | "imageOf">;
  readonly logger: Logger;
  /** Publishes an event (on faas.zygotes). */
  readonly publish: (event: ZygoteImageBuilt) => void;
  /** Build the popular set's image whenever a re-plan changes it. */
  readonly buildPopular: boolean;
}

export class ZygoteBuilder {
  /** Images already announced on NATS by this process: an image found built is announced once. */
  readonly #announced = new Set<string>();
  #popularId = "";

  constructor(private readonly o: ZygoteBuilderOptions) {}

  /** Re-plans; returns true when the plan changed. A changed popular set starts building in the background. */
  replan(why: string): boolean {
    if (!this.o.state.replan()) return false;
    const plan = this.o.state.plan;
    this.o.logger.info({ why, generation: Number(plan.generation), sets: plan.sets.length, popular: plan.popular?.id }, "zygote plan changed");
    const popular = plan.popular?.id ?? "";
    if (popular !== this.#popularId) {
      this.#popularId = popular;
      if (popular && this.o.buildPopular) {
        this.build(popular).catch((err: Error) => this.o.logger.warn({ set: popular, err: err.message }, "popular zygote image build failed"));
      }
    }
    return true;
  }

  /** The current plan with the image of every set whose image is built. */
  plan(): Plan {
    const plan = this.o.state.plan;
    const withImage = (s: PackageSet): PackageSet => ({ ...s, image: this.o.images.imageOf(s.id) ?? "" });
    return { ...plan, sets: plan.sets.map(withImage), popular: plan.popular && withImage(plan.popular) };
  }

  /** Builds (or finds) the image of a set of the current plan (a group or the popular set). */
  async build(setId: string): Promise<{ image: string; buildUs: bigint; set: PackageSet }> {
    const set = this.o.state.findSet(setId);
    if (!set) throw new ConnectError(`package set ${setId} is not in the current plan`, Code.NotFound);
    const generation = this.o.state.plan.generation;
    const result = await this.o.images.ensure(set);
    if (result.built || !this.#announced.has(result.image)) {
      this.#announced.add(result.image);
      this.o.publish(
        create(ZygoteImageBuiltSchema, {
          setId: set.id,
          image: result.image,
          packages: set.packages,
          functions: set.functions,
          buildUs: result.buildUs,
          atUnixUs: nowUnixUs(),
          generation,
        }),
      );
    }
    return { image: result.image, buildUs: result.buildUs, set: { ...set, image: result.image } };
  }

  /**
   * Records the function (as a FunctionDeployed event would), re-plans, and builds the image of the set it
   * lands in. No set when it has no dependencies or more than one set may hold.
   */
  async assign(spec: FunctionSpec): Promise<{ set?: PackageSet; generation: bigint }> {
    this.o.state.deployed(spec);
    this.replan(`assign ${spec.name}`);
    const generation = this.o.state.plan.generation;
    const set = this.o.state.setOf(spec.name);
    if (!set) return { generation };
    const built = await this.build(set.id);
    return { set: built.set, generation };
  }
}
