import test from "ava";
import { ConfigError } from "../../common/config.js";
import { loadSidecarConfig } from "../../sidecar/config.js";
import { resolveEntry, sameLoad, workerEnv, type FunctionLoad } from "../../sidecar/function-load.js";

test("defaults match node-manager's and OpenWhisk's", (t) => {
  const c = loadSidecarConfig({});
  t.is(c.socketPath, "/run/faas/sidecar.sock");
  t.is(c.codeDir, "/fn");
  t.is(c.entry, "index.js");
  t.is(c.timeoutMs, 60_000);
  t.is(c.memoryMb, 256);
  t.is(c.maxConcurrency, 1);
  t.deepEqual(c.functionEnv, {});
  t.is(c.functionName, "function");
  t.is(c.zygoteManifest, "/opt/faas/zygote.json");
  t.is(c.packagesRoot, "/");
  t.is(c.workerUidBase, 10_000);
  t.is(c.workDir, "/tmp/faas-work");
  t.deepEqual(c.lockedDirs, ["/tmp", "/var/tmp", "/dev/shm"]);
});

test("an empty FAAS_FUNCTION_NAME is a stem cell; paths must be absolute", (t) => {
  t.is(loadSidecarConfig({ FAAS_FUNCTION_NAME: "" }).functionName, "");
  t.is(loadSidecarConfig({ FAAS_FUNCTION_NAME: "f" }).functionName, "f");
  t.deepEqual(loadSidecarConfig({ FAAS_LOCKED_DIRS: "" }).lockedDirs, []);
  t.deepEqual(loadSidecarConfig({ FAAS_LOCKED_DIRS: " /a, /b/ ," }).lockedDirs, ["/a", "/b/"]);
  t.is(loadSidecarConfig({ FAAS_WORK_DIR: "/w/" }).workDir, "/w");
  const err = t.throws(
    () => loadSidecarConfig({ FAAS_LOCKED_DIRS: "/tmp,tmp", FAAS_WORK_DIR: "work", FAAS_PACKAGES_ROOT: "./x", FAAS_ZYGOTE_MANIFEST: "z.json", FAAS_WORKER_UID_BASE: "0" }),
    { instanceOf: ConfigError },
  );
  t.is(err!.problems.length, 5);
});

test("FAAS_FUNCTION_ENV must be a JSON object of strings; errors name the variable", (t) => {
  t.deepEqual(loadSidecarConfig({ FAAS_FUNCTION_ENV: '{"A":"1","B":""}' }).functionEnv, { A: "1", B: "" });
  for (const bad of ["[1]", '{"A":1}', "nope", '"x"', '{"A=B":"1"}', "null"]) {
    const err = t.throws(() => loadSidecarConfig({ FAAS_FUNCTION_ENV: bad }), { instanceOf: ConfigError });
    t.regex(err!.message, /FAAS_FUNCTION_ENV/, bad);
  }
  const err = t.throws(() => loadSidecarConfig({ FAAS_MAX_CONCURRENCY: "0", FAAS_TIMEOUT_MS: "x" }), { instanceOf: ConfigError });
  t.is(err!.problems.length, 2);
});

const load: FunctionLoad = { functionName: "f", codeDir: "/fn", entry: "index.js", env: { A: "1" }, memoryMb: 128, timeoutMs: 1000, maxConcurrency: 1, workers: 1 };

test("the worker sees only the function's env plus PATH/HOME/NODE_ENV, never NODE_OPTIONS", (t) => {
  const env = workerEnv({ ...load, env: { A: "1", NODE_OPTIONS: "--max-old-space-size=99999", NODE_ENV: "development" } });
  t.deepEqual(env, { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", NODE_ENV: "development", A: "1" });
});

test("the entry must stay inside the code directory", (t) => {
  t.deepEqual(resolveEntry(load), { path: "/fn/index.js" });
  t.deepEqual(resolveEntry({ ...load, entry: "lib/main.mjs" }), { path: "/fn/lib/main.mjs" });
  t.true("error" in resolveEntry({ ...load, entry: "../etc/passwd" }));
  t.true("error" in resolveEntry({ ...load, entry: "/etc/passwd" }));
});

test("sameLoad compares every field, env by content", (t) => {
  t.true(sameLoad(load, { ...load, env: { A: "1" }, codeDir: "/fn/" }));
  t.false(sameLoad(load, { ...load, env: { A: "2" } }));
  t.false(sameLoad(load, { ...load, maxConcurrency: 2 }));
});
