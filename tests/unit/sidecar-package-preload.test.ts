import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { esmEntryPoint, preloadPackages } from "../../sidecar/worker/package-preload.js";

test("the ESM entry of a package: the root export under node/import/default, else main, else index.js", (t) => {
  t.is(esmEntryPoint({}), "index.js");
  t.is(esmEntryPoint({ main: "lib/x.js" }), "lib/x.js");
  t.is(esmEntryPoint({ exports: "./e.js", main: "m.js" }), "./e.js");
  t.is(esmEntryPoint({ exports: { import: "./i.mjs", require: "./r.cjs" } }), "./i.mjs");
  t.is(esmEntryPoint({ exports: { require: "./r.cjs", default: "./d.js" } }), "./d.js");
  t.is(esmEntryPoint({ exports: { ".": { types: "./t.d.ts", node: { import: "./n.mjs" }, default: "./d.js" }, "./sub": "./s.js" } }), "./n.mjs");
  t.is(esmEntryPoint({ exports: { ".": [{ import: "./a.mjs" }, "./b.js"] } }), "./a.mjs");
  t.is(esmEntryPoint({ exports: { "./sub": "./s.js" } }), undefined, "no root export");
  t.is(esmEntryPoint({ exports: { require: "./r.cjs" } }), undefined, "require-only");
});

test("preloading imports CommonJS and ESM-only packages and skips those that fail", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "preload-"));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const pkg = (name: string, json: object, files: Record<string, string>) => {
    const dir = path.join(root, "node_modules", name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, ...json }));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  };
  const g = globalThis as Record<string, unknown>;
  pkg("preload-cjs", {}, { "index.js": "globalThis.__preloadCjs = (globalThis.__preloadCjs || 0) + 1;" });
  pkg("preload-esm", { type: "module", exports: { import: "./index.js" } }, { "index.js": "globalThis.__preloadEsm = 1; export default 1;" });
  pkg("preload-mjs", { main: "index.mjs" }, { "index.mjs": "globalThis.__preloadMjs = 1; export const x = await Promise.resolve(1);" });
  pkg("preload-throws", {}, { "index.js": "throw new Error('no thanks');" });
  const outcome = await preloadPackages(root, ["preload-cjs", "preload-esm", "preload-mjs", "preload-throws", "preload-absent"]);
  t.deepEqual(outcome.loaded, ["preload-cjs", "preload-esm", "preload-mjs"]);
  t.deepEqual(
    outcome.failed.map((f) => f.name),
    ["preload-throws", "preload-absent"],
  );
  t.regex(outcome.failed[0].message, /no thanks/);
  t.is(g.__preloadCjs, 1);
  t.is(g.__preloadEsm, 1);
  t.is(g.__preloadMjs, 1);
});
