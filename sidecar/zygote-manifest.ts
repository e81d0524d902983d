// The image's zygote package set: which packages a template worker imports before any function exists.
// zygote-builder writes the manifest into the image next to the packages it installs under /node_modules.
import * as fs from "node:fs";

export interface ZygoteManifest {
  /** zygote-builder's id of the package set ("zs-…"); empty when the image has none. */
  readonly setId: string;
  /** Package name → exact version, as installed. */
  readonly packages: Readonly<Record<string, string>>;
}

export const EMPTY_MANIFEST: ZygoteManifest = { setId: "", packages: {} };

/** npm's rules, loosely: an optional @scope/ and a name with no path tricks. */
const PACKAGE_NAME = /^(@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*$/i;

/** Parses the manifest's JSON text; throws with what is wrong, so a broken image is reported at start. */
export function parseZygoteManifest(text: string): ZygoteManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("must be a JSON object");
  const { setId = "", packages = {} } = value as { setId?: unknown; packages?: unknown };
  if (typeof setId !== "string") throw new Error(`setId must be a string, got ${typeof setId}`);
  if (typeof packages !== "object" || packages === null || Array.isArray(packages)) throw new Error("packages must be an object of name → version");
  const out: Record<string, string> = {};
  for (const [name, version] of Object.entries(packages)) {
    // A name like "../x" would make the template import a path outside node_modules.
    if (!PACKAGE_NAME.test(name)) throw new Error(`packages has an invalid package name ${JSON.stringify(name)}`);
    if (typeof version !== "string" || version === "") throw new Error(`packages.${name} must be a version string`);
    out[name] = version;
  }
  return { setId, packages: out };
}

/** The manifest at file; a missing file is the empty set (an image built without a zygote package set). */
export function readZygoteManifest(file: string): ZygoteManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_MANIFEST;
    throw new Error(`zygote manifest ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return parseZygoteManifest(text);
  } catch (err) {
    throw new Error(`zygote manifest ${file} ${(err as Error).message}`);
  }
}

/** "name@version", sorted by name: how Stats and logs show the set. */
export function packageList(manifest: ZygoteManifest): string[] {
  return Object.keys(manifest.packages)
    .sort()
    .map((name) => `${name}@${manifest.packages[name]}`);
}
