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

const load: FunctionLoad = { functionName: "f", codeDir: "/fn", entry: "index.js", env: { A: "1" }, memoryMb: 128, timeoutMs: 1000, maxConcurrency: 1 };

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
