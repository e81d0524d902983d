// Function images: the function's code at /fn on top of its zygote image (its package set at /node_modules,
// shared with the other functions of the set) or, without a set, on the runtime image with all of its own
// exact-pinned npm dependencies in /fn/node_modules. Dependencies are installed on the host (scripts
// disabled) and copied in, so image builds need no network. The spec and the set travel in image labels,
// so a restarted node-manager knows what it has prepared. /fn is root's and open to the function's group only
// (0750, group FUNCTION_UID): containers run with a read-only root, so the sidecar cannot set that at start,
// and a template worker forked later in the same container (another uid) must not read the code.
//
// Every prepared version also stays on the host in the code store, world-readable, twice: `code` (files
// only, for injecting into a zygote that covers its packages) and `full` (with all its node_modules, for
// injecting into a generic stem cell). Rebuilding a function on another set reads it from there.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type Docker from "dockerode";
import { stopwatch } from "../../common/clock.js";
import { shortDigest } from "../../common/function-digest.js";
import { buildImage, runtimeImageShortId, ZYGOTE_LABELS } from "../../common/image-build.js";
import { DependencyInstallError, makeWorldReadable, npmInstall, writeDependenciesPackageJson } from "../../common/npm-install.js";
import { LABELS } from "./labels.js";
import { FUNCTION_UID } from "./sandbox/docker-runtime.js";
import { FunctionSpecSchema, type FunctionCode, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";

export { DependencyInstallError };

/** The sidecar's CODE_DIR_MODE (sidecar/worker-isolation.ts): it leaves a /fn already so alone. */
const CODE_DIR_MODE = 0o750;

/** A zygote image to build FROM: the set, its image, and the packages it holds at /node_modules. */
export interface ZygoteRef {
  readonly setId: string;
  readonly image: string;
  readonly packages: Readonly<Record<string, string>>;
}

/** A function version's copies in the code store. */
export interface CodeDirs {
  /** The code only (package.json included), no node_modules: for a zygote whose set covers the function. */
  readonly code: string;
  /** The code with all its dependencies in node_modules: for a generic stem cell. */
  readonly full: string;
}

export interface PreparedFunction {
  readonly spec: FunctionSpec;
  readonly image: string;
  /** The package set the image builds FROM; undefined when on the plain runtime image. */
  readonly setId?: string;
  /** That set's zygote image (undefined without a set, or on an image labelled before it was recorded). */
  readonly setImage?: string;
  /** The set's packages ({} without a set; list() always fills it). */
  readonly packages?: Readonly<Record<string, string>>;
}

export interface BuiltFunctionImage {
  readonly image: string;
  /** 0 when the image existed already. */
  readonly buildUs: bigint;
  readonly codeDirs: CodeDirs;
}

export interface FunctionImagesOptions {
  readonly docker: Docker;
  readonly runtimeImage: string;
  readonly buildDir: string;
  /** Root of the code store (NODE_CODE_DIR); default $TMPDIR/faas-code. */
  readonly codeStoreDir?: string;
  readonly npmInstallTimeoutMs: number;
}

/** The set id's short form in tags. */
export const setShort = (setId: string | undefined) => (setId ? setId.replace(/^zs-/, "").slice(0, 12) : "none");

export class FunctionImages {
  private readonly building = new Map<string, Promise<BuiltFunctionImage>>();
  private readonly storing = new Map<string, Promise<CodeDirs>>();
  /** Short id of the runtime image: part of every function image's tag, so a rebuilt runtime (a new sidecar) gets new function images. */
  private runtimeId = "";

  private readonly codeStoreDir: string;

  constructor(private readonly o: FunctionImagesOptions) {
    this.codeStoreDir = o.codeStoreDir ?? path.join(os.tmpdir(), "faas-code");
  }

  /** One image per function version and base: the same version on another set is another image. */
  tag(spec: Pick<FunctionSpec, "name" | "digest">, setId?: string): string {
    if (!this.runtimeId) throw new Error("checkRuntimeImage() must run first");
    return `faas-fn/${spec.name}:${shortDigest(spec.digest)}-${setShort(setId)}-${this.runtimeId}`;
  }

  /** Fails fast at start when the runtime image is missing, with the command that builds it. */
  async checkRuntimeImage(): Promise<void> {
    this.runtimeId = await runtimeImageShortId(this.o.docker, this.o.runtimeImage);
  }

  /**
   * Stores the code and builds the image of this function version (FROM the zygote's image when given)
   * unless it exists. Concurrent calls share one build.
   */
  async ensure(spec: FunctionSpec, code: FunctionCode, zygote?: ZygoteRef): Promise<BuiltFunctionImage> {
    const codeDirs = await this.storeCode(spec, code);
    return this.build(spec, codeDirs, zygote);
  }

  /** Builds an already stored function version on another base (its set changed); undefined when its code is not stored. */
  async rebase(spec: FunctionSpec, zygote?: ZygoteRef): Promise<BuiltFunctionImage | undefined> {
    const codeDirs = this.storedCode(spec);
    return codeDirs && this.build(spec, codeDirs, zygote);
  }

  /** The code store's copies of a function version, when present. */
  storedCode(spec: Pick<FunctionSpec, "name" | "digest">): CodeDirs | undefined {
    const dirs = this.codeDirsOf(spec);
    return fs.existsSync(dirs.code) && fs.existsSync(dirs.full) ? dirs : undefined;
  }

  /** Drops a function version from the code store. */
  removeCode(spec: Pick<FunctionSpec, "name" | "digest">): void {
    fs.rmSync(path.dirname(this.codeDirsOf(spec).code), { recursive: true, force: true });
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
        const packages = JSON.parse(img.Labels?.[ZYGOTE_LABELS.packages] ?? "{}") as Record<string, string>;
        const setId = img.Labels?.[ZYGOTE_LABELS.set] || undefined;
        const setImage = (setId && img.Labels?.[ZYGOTE_LABELS.image]) || undefined;
        out.push({ spec: fromBinary(FunctionSpecSchema, Buffer.from(encoded, "base64")), image: tag, setId, setImage, packages });
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

  private codeDirsOf(spec: Pick<FunctionSpec, "name" | "digest">): CodeDirs {
    const dir = path.join(this.codeStoreDir, spec.name, shortDigest(spec.digest));
    return { code: path.join(dir, "code"), full: path.join(dir, "full") };
  }

  /** Writes the version's `code` and `full` copies unless stored; written aside and renamed into place, so a copy is never half there. */
  private storeCode(spec: FunctionSpec, code: FunctionCode): Promise<CodeDirs> {
    const dirs = this.codeDirsOf(spec);
    const key = dirs.code;
    let store = this.storing.get(key);
    if (!store) {
      store = (async () => {
        if (this.storedCode(spec)) return dirs;
        const final = path.dirname(dirs.code);
        fs.mkdirSync(path.dirname(final), { recursive: true, mode: 0o755 });
        // mkdir's mode is cut by the umask; the store's own dirs must be traversable by anyone.
        for (const dir of [this.codeStoreDir, path.dirname(final)]) {
          try {
            fs.chmodSync(dir, 0o755);
          } catch {
            // A store root owned by someone else: its mode is the operator's choice.
          }
        }
        const temp = fs.mkdtempSync(`${final}.tmp-`);
        try {
          const codeDir = path.join(temp, "code");
          for (const [rel, content] of Object.entries(code.files)) {
            const file = path.join(codeDir, rel);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, content);
          }
          this.writePackageJson(codeDir, spec);
          const fullDir = path.join(temp, "full");
          fs.cpSync(codeDir, fullDir, { recursive: true });
          if (Object.keys(spec.dependencies).length > 0) await npmInstall(fullDir, this.o.npmInstallTimeoutMs);
          makeWorldReadable(temp);
          fs.rmSync(final, { recursive: true, force: true });
          fs.renameSync(temp, final);
          return dirs;
        } finally {
          fs.rmSync(temp, { recursive: true, force: true });
        }
      })().finally(() => this.storing.delete(key));
      this.storing.set(key, store);
    }
    return store;
  }

  private build(spec: FunctionSpec, codeDirs: CodeDirs, zygote: ZygoteRef | undefined): Promise<BuiltFunctionImage> {
    const image = this.tag(spec, zygote?.setId);
    let build = this.building.get(image);
    if (!build) {
      build = this.buildFunctionImage(spec, codeDirs, zygote, image).finally(() => this.building.delete(image));
      this.building.set(image, build);
    }
    return build;
  }

  private async buildFunctionImage(spec: FunctionSpec, codeDirs: CodeDirs, zygote: ZygoteRef | undefined, image: string): Promise<BuiltFunctionImage> {
    try {
      await this.o.docker.getImage(image).inspect();
      return { image, buildUs: 0n, codeDirs };
    } catch {
      // not built yet
    }
    const elapsed = stopwatch();
    fs.mkdirSync(this.o.buildDir, { recursive: true });
    const staging = fs.mkdtempSync(path.join(this.o.buildDir, `${spec.name}-`));
    try {
      // The context's root/ is copied onto the image's /: root/fn carries its own owner and mode to /fn.
      const rootDir = path.join(staging, "root");
      const fnDir = path.join(rootDir, "fn");
      fs.mkdirSync(rootDir, { mode: 0o755 });
      if (!zygote) {
        fs.cpSync(codeDirs.full, fnDir, { recursive: true, verbatimSymlinks: true });
      } else {
        fs.cpSync(codeDirs.code, fnDir, { recursive: true });
        // Node resolves /fn/node_modules before the zygote's /node_modules: only what the set lacks (or
        // holds at another version) goes there. Normally nothing: the set was planned from these pins.
        const missing = Object.fromEntries(Object.entries(spec.dependencies).filter(([pkg, v]) => zygote.packages[pkg] !== v));
        if (Object.keys(missing).length > 0) {
          const deps = path.join(staging, "deps");
          writeDependenciesPackageJson(deps, spec.name, missing);
          await npmInstall(deps, this.o.npmInstallTimeoutMs);
          fs.renameSync(path.join(deps, "node_modules"), path.join(fnDir, "node_modules"));
        }
      }
      makeWorldReadable(fnDir);
      fs.chmodSync(rootDir, 0o755);
      fs.chmodSync(fnDir, CODE_DIR_MODE);
      fs.writeFileSync(path.join(staging, "Dockerfile"), `FROM ${zygote?.image ?? this.o.runtimeImage}\nCOPY --chown=0:${FUNCTION_UID} root /\n`);
      const labels: Record<string, string> = {
        [LABELS.function]: spec.name,
        [LABELS.digest]: spec.digest,
        [LABELS.spec]: Buffer.from(toBinary(FunctionSpecSchema, spec)).toString("base64"),
        [ZYGOTE_LABELS.packages]: JSON.stringify(zygote?.packages ?? {}),
      };
      if (zygote) {
        labels[ZYGOTE_LABELS.set] = zygote.setId;
        labels[ZYGOTE_LABELS.image] = zygote.image;
      }
      await buildImage(this.o.docker, staging, ["Dockerfile", "root"], image, labels);
      return { image, buildUs: elapsed(), codeDirs };
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
    fs.mkdirSync(fnDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
  }
}
