// Zygote images: the runtime image plus one package set's exact versions at /node_modules and a manifest
// at /opt/faas/zygote.json. Function images of the set's functions build FROM it, so their containers hold
// the set read-only and can serve as zygotes for each other. Packages are npm-installed on the host
// (scripts disabled) and copied in, and the build has no RUN steps (the base has no shell) and no network.
import * as fs from "node:fs";
import * as path from "node:path";
import type Docker from "dockerode";
import { stopwatch } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { buildImage, runtimeImageShortId, ZYGOTE_LABELS } from "../../common/image-build.js";
import { makeWorldReadable, npmInstall, writeDependenciesPackageJson } from "../../common/npm-install.js";

export interface ZygoteSetRef {
  readonly id: string;
  readonly packages: Readonly<Record<string, string>>;
}

export interface ZygoteImage {
  readonly image: string;
  /** 0 when the image existed already. */
  readonly buildUs: bigint;
  /** True when this call built it. */
  readonly built: boolean;
}

export interface ZygoteImagesOptions {
  readonly docker: Docker;
  readonly runtimeImage: string;
  readonly buildDir: string;
  readonly npmInstallTimeoutMs: number;
  readonly logger: Logger;
}

/** The tag of a set's image on one runtime image: a rebuilt runtime (a new sidecar) gets new zygote images. */
export function zygoteTag(setId: string, runtimeId: string): string {
  return `faas-zygote/${setId}:${runtimeId}`;
}

export class ZygoteImages {
  readonly #building = new Map<string, Promise<ZygoteImage>>();
  /** Set id -> image, for the sets known to be built on the current runtime image. */
  readonly #known = new Map<string, string>();

  constructor(private readonly o: ZygoteImagesOptions) {}

  /** Short id of the runtime image, looked up on every build so a runtime rebuilt meanwhile is noticed. */
  runtimeId(): Promise<string> {
    return runtimeImageShortId(this.o.docker, this.o.runtimeImage);
  }

  /** Learns the zygote images already built on the current runtime image (after a restart). */
  async scan(): Promise<number> {
    const runtimeId = await this.runtimeId();
    const images = await this.o.docker.listImages({ filters: { label: [ZYGOTE_LABELS.set] } });
    for (const img of images) {
      const id = img.Labels?.[ZYGOTE_LABELS.set];
      if (id && img.RepoTags?.includes(zygoteTag(id, runtimeId))) this.#known.set(id, zygoteTag(id, runtimeId));
    }
    return this.#known.size;
  }

  /** The image of a set when known to be built. */
  imageOf(setId: string): string | undefined {
    return this.#known.get(setId);
  }

  /** Builds the set's image unless it exists. Concurrent calls for one set share one build. */
  ensure(set: ZygoteSetRef): Promise<ZygoteImage> {
    let build = this.#building.get(set.id);
    if (!build) {
      build = this.#ensure(set).finally(() => this.#building.delete(set.id));
      this.#building.set(set.id, build);
    }
    return build;
  }

  async #ensure(set: ZygoteSetRef): Promise<ZygoteImage> {
    const image = zygoteTag(set.id, await this.runtimeId());
    try {
      await this.o.docker.getImage(image).inspect();
      this.#known.set(set.id, image);
      return { image, buildUs: 0n, built: false };
    } catch {
      // not built yet
    }
    const elapsed = stopwatch();
    fs.mkdirSync(this.o.buildDir, { recursive: true });
    const staging = fs.mkdtempSync(path.join(this.o.buildDir, `${set.id}-`));
    try {
      writeDependenciesPackageJson(staging, set.id, set.packages);
      if (Object.keys(set.packages).length > 0) await npmInstall(staging, this.o.npmInstallTimeoutMs);
      fs.mkdirSync(path.join(staging, "node_modules"), { recursive: true });
      const installUs = elapsed();
      fs.writeFileSync(path.join(staging, "zygote.json"), JSON.stringify({ setId: set.id, packages: set.packages }));
      fs.writeFileSync(
        path.join(staging, "Dockerfile"),
        `FROM ${this.o.runtimeImage}\nCOPY node_modules /node_modules\nCOPY zygote.json /opt/faas/zygote.json\n`,
      );
      makeWorldReadable(staging);
      await buildImage(this.o.docker, staging, ["Dockerfile", "node_modules", "zygote.json"], image, {
        [ZYGOTE_LABELS.set]: set.id,
        [ZYGOTE_LABELS.packages]: JSON.stringify(set.packages),
      });
      const buildUs = elapsed();
      this.o.logger.info(
        { set: set.id, image, packages: Object.keys(set.packages).length, npmInstallMs: Number(installUs / 1000n), dockerBuildMs: Number((buildUs - installUs) / 1000n) },
        "zygote image built",
      );
      this.#known.set(set.id, image);
      return { image, buildUs, built: true };
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
}
