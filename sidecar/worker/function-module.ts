// Imports the function's entry module, CommonJS or ESM, and finds its main(params, ctx).
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

export type FunctionMain = (params: unknown, ctx: unknown) => unknown;

/** The module exists but exports no main; reported as an InitError like any import failure. */
export class MissingMainError extends Error {
  override readonly name = "MissingMainError";
}

/** Node's own rule: .mjs, or .js under the nearest package.json saying "type": "module". */
export function isEsmEntry(entryPath: string): boolean {
  if (entryPath.endsWith(".mjs")) return true;
  if (entryPath.endsWith(".cjs") || !entryPath.endsWith(".js")) return false;
  for (let dir = path.dirname(entryPath); ; dir = path.dirname(dir)) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(path.join(dir, "package.json"), "utf8");
    } catch {
      // no package.json here: look further up
    }
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === "module";
      } catch {
        return false; // Node itself would fail on it; require() reports that error
      }
    }
    if (path.dirname(dir) === dir) return false;
  }
}

async function importEntry(entryPath: string): Promise<unknown> {
  // import() for ESM rather than Node 20.19's require(esm): no ExperimentalWarning, and top-level await works.
  const asEsm = () => import(pathToFileURL(entryPath).href);
  if (isEsmEntry(entryPath)) return asEsm();
  try {
    return createRequire(entryPath)(entryPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_REQUIRE_ESM") return asEsm();
    throw err;
  }
}

function mainOf(mod: unknown): FunctionMain | undefined {
  const m = mod as { main?: unknown; default?: { main?: unknown } } | null | undefined;
  // module.exports.main / exports.main / export function main, then a default export (or transpiled
  // exports.default) holding main.
  if (typeof m?.main === "function") return m.main as FunctionMain;
  if (typeof m?.default?.main === "function") return m.default.main as FunctionMain;
  return undefined;
}

/** The entry module is missing; said plainly instead of require()'s "Require stack" noise. */
export class MissingEntryError extends Error {
  override readonly name = "MissingEntryError";
}

export async function loadFunctionMain(entryPath: string): Promise<FunctionMain> {
  if (!fs.existsSync(entryPath)) throw new MissingEntryError(`the entry module ${entryPath} does not exist`);
  const mod = await importEntry(entryPath);
  const main = mainOf(mod);
  if (main) return main;
  const found = mod !== null && (typeof mod === "object" || typeof mod === "function") ? Object.keys(mod as object) : [];
  throw new MissingMainError(
    `${entryPath} does not export a main(params, ctx) function (expected module.exports.main, exports.main, ` +
      `export function main, or a default export with main); it exports: ${found.length > 0 ? found.join(", ") : "nothing"}`,
  );
}
