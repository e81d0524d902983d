// Function images: the runtime image plus the function's code and its exact-pinned npm dependencies.
// Dependencies are installed on the host (scripts disabled) and copied in, so image builds need no network.
// The spec travels in an image label, so a restarted node-manager knows what it has prepared.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type Docker from "dockerode";
import { stopwatch } from "../../common/clock.js";
import { shortDigest } from "../../common/function-digest.js";
import { LABELS } from "./labels.js";
import { FunctionSpecSchema, type FunctionCode, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";


export interface PreparedFunction {
  readonly spec: FunctionSpec;
  readonly image: string;
}

export class DependencyInstallError extends Error {}

export interface FunctionImagesOptions {
  readonly docker: Docker;
  readonly runtimeImage: string;
  readonly buildDir: string;
  readonly npmInstallTimeoutMs: number;
}

export class FunctionImages {
  private readonly building = new Map<string, Promise<{ image: string; buildUs: bigint }>>();
  /** Short id of the runtime image: part of every function image's tag, so a rebuilt runtime (a new sidecar) gets new function images. */
  private runtimeId = "";

  constructor(private readonly o: FunctionImagesOptions) {}

  tag(spec: Pick<FunctionSpec, "name" | "digest">): string {
    if (!this.runtimeId) throw new Error("checkRuntimeImage() must run first");
    return `faas-fn/${spec.name}:${shortDigest(spec.digest)}-${this.runtimeId}`;
  }

  /** Fails fast at start when the runtime image is missing, with the command that builds it. */
  async checkRuntimeImage(): Promise<void> {
    try {
      const info = await this.o.docker.getImage(this.o.runtimeImage).inspect();
      this.runtimeId = info.Id.replace(/^sha256:/, "").slice(0, 12);
    } catch {
      throw new Error(`runtime image ${this.o.runtimeImage} not found: build it with \`bash images/build.sh\``);
    }
  }

  /** Builds the image of this function version unless it exists. Concurrent calls share one build. */
  ensure(spec: FunctionSpec, code: FunctionCode): Promise<{ image: string; buildUs: bigint }> {
    const image = this.tag(spec);
    let build = this.building.get(image);
    if (!build) {
      build = this.build(spec, code, image).finally(() => this.building.delete(image));
      this.building.set(image, build);
    }
    return build;
  }

  /** Every function version whose image exists on this node, newest first per name. */
  async list(): Promise<PreparedFunction[]> {
    const images = await this.o.docker.listImages({ filters: { label: [LABELS.function] } });
    const out: PreparedFunction[] = [];
    for (const img of images.sort((a, b) => b.Created - a.Created)) {
      const encoded = img.Labels?.[LABELS.spec];
      // Images built on an older runtime image are not reused: their sidecar is out of date.
      const tag = img.RepoTags?.find((t) => t.startsWith("faas-fn/") && t.endsWith(`-${this.runtimeId}`));
      if (!encoded || !tag) continue;
      try {
        out.push({ spec: fromBinary(FunctionSpecSchema, Buffer.from(encoded, "base64")), image: tag });
      } catch {
        // An image from an incompatible version of the platform: ignore it.
      }
    }
    return out;
  }

  async remove(image: string): Promise<void> {
    try {
      await this.o.docker.getImage(image).remove({ force: false });
    } catch {
      // In use by a container that is still being removed, or gone already: harmless.
    }
  }

  private async build(spec: FunctionSpec, code: FunctionCode, image: string): Promise<{ image: string; buildUs: bigint }> {
    try {
      await this.o.docker.getImage(image).inspect();
      return { image, buildUs: 0n };
    } catch {
      // not built yet
    }
    const elapsed = stopwatch();
    fs.mkdirSync(this.o.buildDir, { recursive: true });
    const staging = fs.mkdtempSync(path.join(this.o.buildDir, `${spec.name}-`));
    try {
      const fnDir = path.join(staging, "fn");
      for (const [rel, content] of Object.entries(code.files)) {
        const file = path.join(fnDir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
      }
      this.writePackageJson(fnDir, spec);
      if (Object.keys(spec.dependencies).length > 0) await this.npmInstall(fnDir);
      fs.writeFileSync(path.join(staging, "Dockerfile"), `FROM ${this.o.runtimeImage}\nCOPY fn /fn\n`);
      const stream = await this.o.docker.buildImage(
        { context: staging, src: ["Dockerfile", "fn"] },
        {
          t: image,
          labels: {
            [LABELS.function]: spec.name,
            [LABELS.digest]: spec.digest,
            [LABELS.spec]: Buffer.from(toBinary(FunctionSpecSchema, spec)).toString("base64"),
          },
          networkmode: "none",
          rm: true,
          forcerm: true,
        },
      );
      await new Promise<void>((resolve, reject) => {
        this.o.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new Error(`image build failed: ${failed}`));
          else resolve();
        });
      });
      return { image, buildUs: elapsed() };
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  /** The spec's dependencies are the truth: a package.json in the code keeps its other fields. */
  private writePackageJson(fnDir: string, spec: FunctionSpec): void {
    const file = path.join(fnDir, "package.json");
    let pkg: Record<string, unknown> = { name: spec.name, version: "0.0.0", private: true };
    if (fs.existsSync(file)) {
      try {
        pkg = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
      } catch {
        throw new DependencyInstallError("package.json in the function's code is not valid JSON");
      }
    }
    pkg.dependencies = { ...spec.dependencies };
    delete pkg.devDependencies;
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
  }

  private npmInstall(dir: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // --ignore-scripts: a deploy must never run a package's code on the host.
      const child = spawn("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const timer = setTimeout(() => child.kill("SIGKILL"), this.o.npmInstallTimeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(new DependencyInstallError(`npm could not run: ${err.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new DependencyInstallError(`npm install failed (${signal ?? `exit ${code}`}): ${stderr.replace(/\s+/g, " ").trim().slice(-1000)}`));
      });
    });
  }
}
