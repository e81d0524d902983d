// The README documents every process's configuration exactly as the schemas declare it.
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { withConfigDocs } from "../../scripts/config-docs.js";
import { REPO_ROOT } from "../../scripts/local-mesh.js";

test("the README's configuration section is the generated one", (t) => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  t.true(readme === withConfigDocs(readme), "run `node dist/scripts/config-docs.js --write-readme`");
});

test("the README opens with the two commands", (t) => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  t.deepEqual(
    blocks[0].split("\n").filter(Boolean).map((l) => l.split("#")[0].trim()),
    ["bash scripts/demo.sh", "bash scripts/test.sh"],
  );
  t.regex(fs.readFileSync(path.join(REPO_ROOT, ".ci/run"), "utf8"), /bash scripts\/test\.sh/);
});
