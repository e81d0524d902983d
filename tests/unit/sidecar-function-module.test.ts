import test from "ava";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isEsmEntry, loadFunctionMain, MissingEntryError, MissingMainError } from "../../sidecar/worker/function-module.js";

function codeDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidecar-fn-"));
  for (const [rel, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, rel), text);
  return dir;
}

test("finds main in every supported export style", async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ "index.js": "module.exports.main = () => 'cjs';" }, "index.js"],
    [{ "index.js": "exports.default = { main: () => 'cjs' };" }, "index.js"],
    [{ "package.json": '{"type":"module"}', "index.js": "export function main() { return 'esm'; }" }, "index.js"],
    [{ "package.json": '{"type":"module"}', "index.js": "export default { main: () => 'esm' };" }, "index.js"],
    [{ "index.mjs": "await Promise.resolve(); export const main = () => 'esm';" }, "index.mjs"],
    [{ "package.json": '{"type":"module"}', "index.cjs": "exports.main = () => 'cjs';" }, "index.cjs"],
  ];
  for (const [files, entry] of cases) {
    const main = await loadFunctionMain(path.join(codeDir(files), entry));
    t.regex(String(main({}, {})), /^(cjs|esm)$/, JSON.stringify(files));
  }
});

test("a module without main, or no module at all, is a clear error", async (t) => {
  const dir = codeDir({ "index.js": "exports.handler = () => 1;" });
  const err = await t.throwsAsync(loadFunctionMain(path.join(dir, "index.js")), { instanceOf: MissingMainError });
  t.regex(err!.message, /it exports: handler/);
  await t.throwsAsync(loadFunctionMain(path.join(dir, "nope.js")), { instanceOf: MissingEntryError });
});

test("ESM detection follows Node's rule (nearest package.json type)", (t) => {
  const dir = codeDir({ "package.json": '{"type":"module"}' });
  fs.mkdirSync(path.join(dir, "lib"));
  t.true(isEsmEntry(path.join(dir, "lib", "a.js")));
  t.false(isEsmEntry(path.join(dir, "a.cjs")));
  t.true(isEsmEntry("/nowhere/a.mjs"));
  fs.writeFileSync(path.join(dir, "lib", "package.json"), "{}");
  t.false(isEsmEntry(path.join(dir, "lib", "a.js")));
});
