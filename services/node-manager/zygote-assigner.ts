// Asks zygote-builder which package set a function belongs to, with that set's image built. Sharing is an
// optimisation: when zygote-builder is down or fails, the function builds on the plain runtime image with
// its own node_modules — correct, only without sharing — so every failure is a warning and `undefined`.
import type { Logger } from "../../common/logger.js";
import { connectPeer, type Peer } from "../../common/transport.js";
import type { FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { ZygoteBuilderService, type Plan } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import type { ZygoteRef } from "./function-images.js";

export interface ZygoteAssignment extends ZygoteRef {
  /** The plan generation the set belongs to. */
  readonly generation: bigint;
}

export interface ZygoteAssignerOptions {
  /** zygote-builder's URL (ZYGOTE_BUILDER_URL). */
  readonly url: string;
  /** FAAS_INTERNAL_SECRET ("" for none). */
  readonly internalSecret?: string;
  /** zygote-builder may npm-install a whole set before it answers: the call waits this long plus a margin for the image build. */
  readonly npmInstallTimeoutMs: number;
  readonly logger: Logger;
}

/** Time for the zygote image's docker build (and a build of the same set already under way) after npm install. */
const BUILD_MARGIN_MS = 120_000;
const PLAN_TIMEOUT_MS = 10_000;

export class ZygoteAssigner {
  readonly #peer: Peer<typeof ZygoteBuilderService>;

  constructor(private readonly o: ZygoteAssignerOptions) {
    this.#peer = connectPeer(ZygoteBuilderService, o.url, { internalSecret: o.internalSecret });
  }

  /** The function's set with its image built; undefined when it has none (no dependencies, too many) or zygote-builder failed. */
  async assign(spec: FunctionSpec): Promise<ZygoteAssignment | undefined> {
    try {
      const res = await this.#peer.client.assignFunction({ spec }, { timeoutMs: this.o.npmInstallTimeoutMs + BUILD_MARGIN_MS });
      if (!res.set?.image) return undefined;
      return { setId: res.set.id, image: res.set.image, packages: { ...res.set.packages }, generation: res.generation };
    } catch (err) {
      this.o.logger.warn({ function: spec.name, err: (err as Error).message }, "zygote-builder did not assign a package set; the function builds on the runtime image");
      return undefined;
    }
  }

  /** The current plan (with built images), or undefined when zygote-builder does not answer. */
  async plan(): Promise<Plan | undefined> {
    try {
      return (await this.#peer.client.getPlan({}, { timeoutMs: PLAN_TIMEOUT_MS })).plan;
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "zygote-builder did not answer GetPlan");
      return undefined;
    }
  }

  close(): void {
    this.#peer.close();
  }
}
