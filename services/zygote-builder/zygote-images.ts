// Zygote images: the runtime image plus one package set's exact versions at /node_modules and a manifest
// at /opt/faas/zygote.json. Function images of the set's functions build FROM it, so their containers hold
// the set read-only and can serve as zygotes for each other. Packages are npm-installed on the host
// (scripts disabled) and copied in, and the build has no RUN steps (the base has no shell) and no network.
import * as fs from "node:fs";
import * as path from "node:path";
import type Docker from "dockerode";
import { stopwatch } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { makeWorldReadable, npmInstall, writeDependenciesPackageJson } from "../../common/npm-install.js";

/** Labels of zygote images (node-manager puts the same two on function images built FROM them). */
export const ZYGOTE_LABELS = {
  /** The package set's id. */
  set: "faas.zygote-set",
  /** The set's packages, JSON {name: version}. */
  packages: "faas.packages",
} as const;

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
  async runtimeId(): Promise<string> {
    try {
      const info = await this.o.docker.getImage(this.o.runtimeImage).inspect();
      return info.Id.replace(/^sha256:/, "").slice(0, 12);
    } catch {
      throw new Error(`runtime image ${this.o.runtimeImage} not found: build it with \`bash images/build.sh\``);
    }
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
      await dockerBuild(this.o.docker, staging, ["Dockerfile", "node_modules", "zygote.json"], image, {
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

/** docker build of a context directory, no network, intermediate containers removed; rejects on any build error. */
async function dockerBuild(docker: Docker, context: string, src: string[], tag: string, labels: Record<string, string>): Promise<void> {
  const stream = await docker.buildImage({ context, src }, { t: tag, labels, networkmode: "none", rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = err?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(`image build failed: ${failed}`));
      else resolve();
    });
  });
}
