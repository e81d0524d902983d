// Building and naming Docker images, shared by node-manager (function images) and zygote-builder (zygote
// images): the labels both kinds carry about a package set, the runtime image's short id that both tags
// include, and a build that has no network and fails on any build error.
import type Docker from "dockerode";

/** Labels of zygote images, and of function images built FROM them (same names, same meaning). */
export const ZYGOTE_LABELS = {
  /** The package set's id; absent on a function image built without one. */
  set: "faas.zygote-set",
  /** The set's packages, JSON {name: version}: what a container of the image can serve as a zygote. */
  packages: "faas.packages",
  /** On a function image: the zygote image it builds FROM (a spare zygote of its set starts from that). */
  image: "faas.zygote-image",
} as const;

/**
 * The first 12 hex digits of the runtime image's id: part of every image tag built on it, so a rebuilt
 * runtime (a new sidecar) gets new images. Fails with the command that builds the runtime when it is missing.
 */
export async function runtimeImageShortId(docker: Docker, runtimeImage: string): Promise<string> {
  try {
    const info = await docker.getImage(runtimeImage).inspect();
    return info.Id.replace(/^sha256:/, "").slice(0, 12);
  } catch {
    throw new Error(`runtime image ${runtimeImage} not found: build it with \`bash images/build.sh\``);
  }
}

/** docker build of a context directory, no network, intermediate containers removed; rejects on any build error. */
export async function buildImage(docker: Docker, context: string, src: string[], tag: string, labels: Record<string, string>): Promise<void> {
  const stream = await docker.buildImage({ context, src }, { t: tag, labels, networkmode: "none", rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = err?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(`image build failed: ${failed}`));
      else resolve();
    });
  });
}
