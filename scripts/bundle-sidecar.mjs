// Bundles the sidecar and its worker into two self-contained files for the runtime image:
// dist/sidecar-bundle/sidecar.js and dist/sidecar-bundle/worker.js (the sidecar forks the file next to it).
// CommonJS, so they run from /opt/faas with no package.json; the package.json written beside them keeps
// them CommonJS inside this "type": "module" repository too.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "dist", "sidecar-bundle");

fs.rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  // tracing: the OpenTelemetry SDK, a file of its own so that a sidecar without tracing never loads it.
  entryPoints: { sidecar: "sidecar/main.ts", worker: "sidecar/worker.ts", tracing: "sidecar/tracing.ts" },
  outdir,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // The ESM builds of packages that ship both (the OpenTelemetry ones): scope-hoisted into the bundle, their
  // imports are plain bindings. Their CommonJS builds come wrapped, every exported name read through a
  // getter (esbuild's interop), which was a third of a recorded span's start in the sidecar's profile.
  mainFields: ["module", "main"],
  // The sources are ESM and locate files with import.meta.url, which CommonJS output lacks.
  define: { "import.meta.url": "__bundleFileUrl" },
  banner: { js: 'const __bundleFileUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: false,
  minify: false,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});
fs.writeFileSync(path.join(outdir, "package.json"), JSON.stringify({ type: "commonjs" }, null, 2) + "\n");

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.relative(root, file)}  ${(info.bytes / 1024).toFixed(0)} KiB`);
}
