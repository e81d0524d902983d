import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { createLogger } from "../../common/logger.js";
import { isolatedWorkerEnv, templateLoad, TEMPLATE_NAME, type FunctionLoad } from "../../sidecar/function-load.js";
import { WorkerIsolation } from "../../sidecar/worker-isolation.js";
import { WorkerUids } from "../../sidecar/worker-uids.js";

const logger = createLogger("sidecar-test", "silent");
const isRoot = process.getuid?.() === 0;

test("the function's workers share the base uid; each template gets a new one", (t) => {
  const uids = new WorkerUids(10_000);
  t.is(uids.functionUid, 10_000);
  t.is(uids.nextTemplateUid(), 10_001);
  t.is(uids.nextTemplateUid(), 10_002);
  t.is(uids.functionUid, 10_000);
  t.throws(() => new WorkerUids(0));
  t.throws(() => new WorkerUids(1.5));
});

const load: FunctionLoad = { functionName: "f", codeDir: "/fn", entry: "index.js", env: { A: "1", HOME: "/root", TMPDIR: "/tmp" }, memoryMb: 128, timeoutMs: 1000, maxConcurrency: 1, workers: 1 };

test("an isolated worker's HOME and TMPDIR are its own directory, whatever the function's env says", (t) => {
  t.deepEqual(isolatedWorkerEnv(load, "/w/10001"), { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/w/10001", TMPDIR: "/w/10001", NODE_ENV: "production", A: "1" });
});

test("a template is spawned with no function env and no code", (t) => {
  const l = templateLoad("/w/10001", 512);
  t.is(l.functionName, TEMPLATE_NAME);
  t.deepEqual(l.env, {});
  t.is(l.codeDir, "/w/10001");
  t.is(l.memoryMb, 512);
});

function tempDir(t: { teardown(f: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "isolation-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("not root: private directories per worker, no uids, nothing locked", (t) => {
  const dir = tempDir(t);
  const locked = path.join(dir, "shared");
  fs.mkdirSync(locked, { mode: 0o777 });
  fs.chmodSync(locked, 0o1777);
  const iso = new WorkerIsolation({ workDir: path.join(dir, "work"), uidBase: 20_000, logger, asRoot: false });
  iso.prepare([locked]);
  t.is(fs.statSync(locked).mode & 0o7777, 0o1777);
  const fn = iso.functionIdentity();
  t.deepEqual(fn, { uid: undefined, gid: undefined, home: path.join(dir, "work", "20000") });
  const tpl = iso.templateIdentity();
  t.is(tpl.home, path.join(dir, "work", "20001"));
  t.true(fs.statSync(tpl.home).isDirectory());
  iso.release(tpl);
  t.false(fs.existsSync(tpl.home));
});

test("as root: shared directories locked, 0700 directories owned by the worker's uid, code readable by its group only", (t) => {
  if (!isRoot) return t.pass("needs root");
  const dir = tempDir(t);
  const locked = path.join(dir, "shared");
  fs.mkdirSync(locked, { mode: 0o777 });
  fs.chmodSync(locked, 0o1777);
  const code = path.join(dir, "code");
  fs.mkdirSync(code);
  const iso = new WorkerIsolation({ workDir: path.join(dir, "work"), uidBase: 48_000, logger, asRoot: true });
  iso.prepare([locked, path.join(dir, "missing")]);
  t.is(fs.statSync(locked).mode & 0o7777, 0o711);
  t.is(fs.statSync(path.join(dir, "work")).mode & 0o7777, 0o711);
  const tpl = iso.templateIdentity();
  t.deepEqual(tpl, { uid: 48_001, gid: 48_001, home: path.join(dir, "work", "48001") });
  const st = fs.statSync(tpl.home);
  t.is(st.uid, 48_001);
  t.is(st.mode & 0o777, 0o700);
  iso.giveCodeDir(code, tpl);
  const codeStat = fs.statSync(code);
  t.is(codeStat.uid, 0, "root keeps the code directory: the worker cannot write there nor open it up");
  t.is(codeStat.gid, 48_001);
  t.is(codeStat.mode & 0o7777, 0o750);
  // Already right (a function image's /fn on the read-only root): not touched again.
  iso.giveCodeDir(code, tpl);
  t.is(fs.statSync(code).ctimeMs, codeStat.ctimeMs);
  iso.release(tpl);
  t.false(fs.existsSync(tpl.home));
});
