import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { EMPTY_MANIFEST, packageList, parseZygoteManifest, readZygoteManifest } from "../../sidecar/zygote-manifest.js";

test("a manifest gives the set id and the exact versions", (t) => {
  const m = parseZygoteManifest('{"setId":"zs-1a2b","packages":{"lodash":"4.17.21","@scope/pkg":"1.0.0-beta.1"}}');
  t.is(m.setId, "zs-1a2b");
  t.deepEqual(m.packages, { lodash: "4.17.21", "@scope/pkg": "1.0.0-beta.1" });
});

test("missing fields mean an empty set", (t) => {
  t.deepEqual(parseZygoteManifest("{}"), EMPTY_MANIFEST);
});

test("a malformed manifest is rejected with what is wrong", (t) => {
  for (const [text, why] of [
    ["nope", /not JSON/],
    ["[]", /JSON object/],
    ['{"setId":1}', /setId/],
    ['{"packages":[]}', /packages/],
    ['{"packages":{"lodash":4}}', /lodash/],
    ['{"packages":{"../etc":"1.0.0"}}', /invalid package name/],
    ['{"packages":{"a/b":"1.0.0"}}', /invalid package name/],
  ] as const) {
    t.throws(() => parseZygoteManifest(text), { message: why }, text);
  }
});

test("a missing file is the empty set; an unreadable one names the file", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manifest-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(readZygoteManifest(path.join(dir, "absent.json")), EMPTY_MANIFEST);
  const bad = path.join(dir, "bad.json");
  fs.writeFileSync(bad, "{");
  t.throws(() => readZygoteManifest(bad), { message: new RegExp(`zygote manifest ${bad} is not JSON`) });
});

test("Stats lists the set as sorted name@version", (t) => {
  t.deepEqual(packageList({ setId: "zs", packages: { zod: "3.0.0", "@a/b": "1.0.0", lodash: "4.17.21" } }), ["@a/b@1.0.0", "lodash@4.17.21", "zod@3.0.0"]);
});
