// A template worker's preload: imports every package of the container's set once, so the function that
// later becomes this worker finds them in the module caches (require.cache, the ESM loader's map) when it
// imports them by name and Node's lookup walks up from its code directory to <root>/node_modules.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { PreloadFailure } from "../ipc-messages.js";
import { isEsmEntry } from "./function-module.js";

export interface PreloadOutcome {
  readonly loaded: string[];
  readonly failed: PreloadFailure[];
}

/** The conditions import() matches, in Node's own order of preference within one exports object. */
const IMPORT_CONDITIONS = new Set(["node", "import", "default"]);

type ExportsValue = string | null | readonly ExportsValue[] | { readonly [key: string]: ExportsValue };

function conditionalTarget(value: ExportsValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const target = conditionalTarget(v);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (typeof value === "object" && value !== null) {
    // An exports object is matched in its own key order, the first matching condition wins.
    for (const [condition, v] of Object.entries(value as Record<string, ExportsValue>)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const target = conditionalTarget(v);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

/**
 * The file import("<name>") loads, relative to the package directory, from its package.json: the "."
 * export under the node/import/default conditions, else main, else index.js. Undefined: no root export.
 */
export function esmEntryPoint(pkg: { exports?: unknown; main?: unknown }): string | undefined {
  const exp = pkg.exports as ExportsValue | undefined;
  if (exp !== undefined && exp !== null) {
    const subpaths = typeof exp === "object" && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith("."));
    return conditionalTarget(subpaths ? (exp as Record<string, ExportsValue>)["."] : exp);
  }
  return typeof pkg.main === "string" && pkg.main !== "" ? pkg.main : "index.js";
}

/** require() cannot load it, but import() may: ESM-only packages and those with top-level await. */
const ESM_ONLY_CODES = new Set(["ERR_REQUIRE_ESM", "ERR_PACKAGE_PATH_NOT_EXPORTED", "ERR_REQUIRE_ASYNC_MODULE"]);

async function importFromPackageJson(root: string, name: string): Promise<void> {
  const dir = path.join(root, "node_modules", name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { exports?: unknown; main?: unknown };
  const entry = esmEntryPoint(pkg);
  if (entry === undefined) throw new Error(`${name} exports no root module (".") for import`);
  await import(pathToFileURL(path.resolve(dir, entry)).href);
}

async function preloadOne(requireFromRoot: NodeJS.Require, root: string, name: string): Promise<void> {
  let file: string;
  try {
    file = requireFromRoot.resolve(name);
  } catch (err) {
    if (!ESM_ONLY_CODES.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    return importFromPackageJson(root, name);
  }
  // import() for ESM rather than require(esm): no ExperimentalWarning, and top-level await works.
  if (isEsmEntry(file)) {
    await import(pathToFileURL(file).href);
    return;
  }
  try {
    requireFromRoot(file);
  } catch (err) {
    if (!ESM_ONLY_CODES.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    await import(pathToFileURL(file).href);
  }
}

/** Imports each package in turn; one that fails is reported and skipped, never fatal for the template. */
export async function preloadPackages(root: string, names: readonly string[]): Promise<PreloadOutcome> {
  // Resolved as a module sitting in root would resolve them: root/node_modules, then its parents'.
  const requireFromRoot = createRequire(path.join(root, "package.json"));
  const loaded: string[] = [];
  const failed: PreloadFailure[] = [];
  for (const name of names) {
    try {
      await preloadOne(requireFromRoot, root, name);
      loaded.push(name);
    } catch (err) {
      failed.push({ name, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
  return { loaded, failed };
}
