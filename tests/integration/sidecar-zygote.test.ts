// The sidecar as a zygote, on the host as root (as in a container): a function A runs, the container
// becomes a zygote in place, and its template worker is forked into function B, which must find nothing
// of A (its file, its env, its code, its processes) but the package set preloaded.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import test, { type ExecutionContext } from "ava";
import { connectPeer, type Peer } from "../../common/transport.js";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { SidecarRole, SidecarService } from "../../gen/faas/sidecar/v1/sidecar_pb.js";

const SIDECAR = fileURLToPath(new URL("../../sidecar-bundle/sidecar.js", import.meta.url));
const isRoot = process.getuid?.() === 0;

/** Polls until check returns a value (not undefined), or fails with what was last seen once the deadline passes. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const FN_A = `
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
exports.main = (p) => {
  const file = path.join(os.tmpdir(), "a-secret.txt");
  fs.writeFileSync(file, "A's data");
  let lockedWrite = "written";
  try { fs.writeFileSync(path.join(p.locked, "a-was-here"), "x"); } catch (e) { lockedWrite = e.code; }
  // A process that leaves A's process group: only the kill by uid can end it.
  const straggler = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
  straggler.unref();
  return { file, codeFile: __filename, pid: process.pid, uid: process.getuid(), secret: process.env.SECRET, tmp: os.tmpdir(), lockedWrite, stragglerPid: straggler.pid };
};
`;

const FN_B = `
const fs = require("node:fs");
const os = require("node:os");
// Checked before B requires it: the template imported it, so it is in the module cache already.
const tinyWasPreloaded = Object.keys(require.cache).some((f) => f.includes("tinypkg"));
const tiny = require("tinypkg");
const tryRead = (f) => { try { return fs.readFileSync(f, "utf8"); } catch (e) { return "ERR:" + e.code; } };
exports.main = (p) => ({
  aFile: tryRead(p.aFile),
  aCode: tryRead(p.aCode),
  sidecarEnv: tryRead("/proc/" + p.sidecarPid + "/environ"),
  aDir: (() => { try { return fs.readdirSync(p.aDir).length; } catch (e) { return "ERR:" + e.code; } })(),
  secret: process.env.SECRET ?? null,
  own: process.env.B_VAR,
  envKeys: Object.keys(process.env).sort(),
  tiny: tiny.hello(),
  tinyWasPreloaded,
  tinyLoads: globalThis.__tinypkgLoads,
  esmLoads: globalThis.__esmpkgLoads ?? 0,
  pid: process.pid,
  uid: process.getuid(),
  cwd: process.cwd(),
  tmp: os.tmpdir(),
});
`;

interface Layout {
  readonly root: string;
  readonly socketPath: string;
  readonly packagesRoot: string;
  readonly workDir: string;
  readonly locked: string;
  readonly manifest: string;
  readonly codeA: string;
  readonly codeB: string;
  readonly codeBad: string;
  readonly codeC: string;
}

/** Temp dirs for one sidecar; functions live under the packages root so Node's lookup walks up to its node_modules. */
function makeLayout(): Layout {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "faas-sidecar-zygote-"));
  // Workers run under other uids: they must be able to pass through to their own directories.
  fs.chmodSync(root, 0o755);
  const packagesRoot = path.join(root, "pkgroot");
  const l: Layout = {
    root,
    socketPath: path.join(root, "run", "sidecar.sock"),
    packagesRoot,
    workDir: path.join(root, "work"),
    locked: path.join(root, "shared-tmp"),
    manifest: path.join(root, "zygote.json"),
    codeA: path.join(packagesRoot, "fn-a"),
    codeB: path.join(packagesRoot, "fn-b"),
    codeBad: path.join(packagesRoot, "fn-bad"),
    codeC: path.join(packagesRoot, "fn-c"),
  };
  const nm = path.join(packagesRoot, "node_modules");
  write(path.join(nm, "tinypkg", "package.json"), JSON.stringify({ name: "tinypkg", version: "1.2.3", main: "index.js" }));
  write(path.join(nm, "tinypkg", "index.js"), `globalThis.__tinypkgLoads = (globalThis.__tinypkgLoads || 0) + 1;\nexports.hello = () => "hello from tinypkg";\n`);
  // ESM-only: require() cannot even resolve it; the template falls back to import().
  write(path.join(nm, "esmpkg", "package.json"), JSON.stringify({ name: "esmpkg", version: "2.0.0", type: "module", exports: { import: "./index.js" } }));
  write(path.join(nm, "esmpkg", "index.js"), `globalThis.__esmpkgLoads = (globalThis.__esmpkgLoads ?? 0) + 1;\nexport const answer = 42;\n`);
  write(path.join(nm, "badpkg", "package.json"), JSON.stringify({ name: "badpkg", version: "0.0.1" }));
  write(path.join(nm, "badpkg", "index.js"), `throw new Error("badpkg refuses to load");\n`);
  write(l.manifest, JSON.stringify({ setId: "zs-test", packages: { tinypkg: "1.2.3", esmpkg: "2.0.0", badpkg: "0.0.1", "not-installed": "9.9.9" } }));
  write(path.join(l.codeA, "index.js"), FN_A);
  write(path.join(l.codeB, "index.js"), FN_B);
  write(path.join(l.codeBad, "index.js"), `throw new Error("B cannot start: missing config");\n`);
  write(path.join(l.codeC, "index.mjs"), `export function main(p) { return { c: true, pid: process.pid }; }\n`);
  fs.mkdirSync(l.locked, { mode: 0o777 });
  fs.chmodSync(l.locked, 0o1777);
  return l;
}

interface Sidecar {
  readonly child: ChildProcess;
  readonly peer: Peer<typeof SidecarService>;
  readonly output: () => string;
}

async function startSidecar(t: ExecutionContext, l: Layout, env: Record<string, string>): Promise<Sidecar> {
  let output = "";
  const child = spawn(process.execPath, [SIDECAR], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      LOG_LEVEL: "info",
      FAAS_SOCKET_PATH: l.socketPath,
      FAAS_WORK_DIR: l.workDir,
      FAAS_LOCKED_DIRS: l.locked,
      FAAS_ZYGOTE_MANIFEST: l.manifest,
      FAAS_PACKAGES_ROOT: l.packagesRoot,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString("utf8")));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      process.kill(child.pid, "SIGTERM");
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 8000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    }
    fs.rmSync(l.root, { recursive: true, force: true });
  });
  const peer = connectPeer(SidecarService, `unix:${l.socketPath}`);
  t.teardown(() => peer.close());
  sidecarOutput = () => output;
  await waitFor("the sidecar's socket", () => (fs.existsSync(l.socketPath) ? true : undefined), 15_000);
  await waitFor("Stats", () => peer.client.stats({}), 15_000);
  return { child, peer, output: () => output };
}

/** The last started sidecar's log, shown when a test fails. */
let sidecarOutput = () => "";
test.afterEach.always((t) => {
  if (!t.passed) t.log(sidecarOutput().slice(-6000));
});

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function rejectsWith(t: ExecutionContext, call: Promise<unknown>, code: Code, message: RegExp): Promise<ConnectError> {
  const err = await t.throwsAsync(call);
  const c = ConnectError.from(err);
  t.is(Code[c.code], Code[code], c.message);
  t.regex(c.message, message);
  return c;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test.serial("a function's container becomes a zygote and forks into another function that sees nothing of the first", async (t) => {
  if (!isRoot) return t.pass("needs root for uid isolation");
  const l = makeLayout();
  const uidBase = 47_000;
  const sc = await startSidecar(t, l, {
    FAAS_FUNCTION_NAME: "a",
    FAAS_CODE_DIR: l.codeA,
    FAAS_FUNCTION_ENV: JSON.stringify({ SECRET: "a-secret-value" }),
    FAAS_WORKER_UID_BASE: String(uidBase),
  });
  const { client } = sc.peer;

  // The shared scratch directory is locked, the code directory is open to A's group only, writable by root only.
  t.is(fs.statSync(l.locked).mode & 0o7777, 0o711);
  t.is(fs.statSync(l.codeA).uid, 0);
  t.is(fs.statSync(l.codeA).gid, uidBase);
  t.is(fs.statSync(l.codeA).mode & 0o777, 0o750);

  const ranA = await client.run({ invocationId: "a1", payload: payload({ locked: l.locked }) });
  t.is(ranA.status, InvocationStatus.OK, ranA.error?.message);
  const a = json(ranA.output);
  t.is(a.secret, "a-secret-value");
  t.is(a.uid, uidBase);
  t.is(a.tmp, path.join(l.workDir, String(uidBase)));
  t.is(a.lockedWrite, "EACCES", "a worker cannot write into a locked shared directory");
  t.true(fs.existsSync(a.file as string));
  t.true(alive(a.stragglerPid as number));

  let stats = await client.stats({});
  t.is(stats.role, SidecarRole.FUNCTION);
  t.is(stats.function, "a");
  t.is(stats.templatePid, 0, "a function container starts no template until it becomes a zygote");
  t.deepEqual(stats.packages, ["badpkg@0.0.1", "esmpkg@2.0.0", "not-installed@9.9.9", "tinypkg@1.2.3"]);

  await rejectsWith(t, client.fork({ function: "b", codeDir: l.codeB }), Code.FailedPrecondition, /become a zygote first/);

  const became = await client.becomeZygote({ reason: "idle" });
  t.is(became.workersEnded, 1);
  t.true(became.templatePid > 0);
  t.log(`BecomeZygote: template pid ${became.templatePid}, ready after ${Number(became.templateReadyUs) / 1000} ms`);
  t.false(fs.existsSync(path.join(l.workDir, String(uidBase))), "A's writable directory is wiped");
  await waitFor("A's straggler to be killed", () => (alive(a.stragglerPid as number) ? undefined : true), 5000);
  t.false(alive(a.pid as number));

  stats = await client.stats({});
  t.is(stats.role, SidecarRole.ZYGOTE);
  t.is(stats.function, "");
  t.deepEqual(stats.workers, []);
  t.is(stats.templatePid, became.templatePid);
  t.true(stats.templateRssBytes > 0n);

  // Idempotent.
  const again = await client.becomeZygote({ reason: "again" });
  t.is(again.workersEnded, 0);
  t.is(again.templatePid, became.templatePid);
  t.is(again.templateReadyUs, 0n);

  await rejectsWith(t, client.run({ invocationId: "z1", payload: payload({}) }), Code.FailedPrecondition, /zygote/);
  await rejectsWith(t, client.loadFunction({ function: "a", codeDir: l.codeA }), Code.FailedPrecondition, /zygote/);

  const forked = await client.fork({ function: "b", codeDir: l.codeB, env: { B_VAR: "b-own" }, limits: { memoryMb: 128, timeoutMs: 5000, maxConcurrency: 2 } });
  t.log(`Fork of b: fork_us ${forked.forkUs} (init_us ${forked.initUs})`);
  t.is(forked.workerPid, became.templatePid, "the template became B's worker");
  t.true(forked.forkUs >= forked.initUs);
  t.is(fs.statSync(l.codeB).uid, 0);
  t.is(fs.statSync(l.codeB).gid, uidBase + 1);
  t.is(fs.statSync(l.codeB).mode & 0o777, 0o750);

  const ranB = await client.run({ invocationId: "b1", payload: payload({ aFile: a.file, aCode: a.codeFile, aDir: l.codeA, sidecarPid: sc.child.pid }) });
  t.is(ranB.status, InvocationStatus.OK, ranB.error?.message);
  t.is(ranB.initUs, 0n, "the import was reported by Fork, not by the first run");
  const b = json(ranB.output);
  t.is(b.aFile, "ERR:ENOENT", "A's file went with A's directory");
  t.is(b.aCode, "ERR:EACCES", "A's code is not readable by B's uid");
  t.is(b.aDir, "ERR:EACCES");
  t.is(b.sidecarEnv, "ERR:EACCES", "the sidecar's environment (which holds A's env) is not readable");
  t.is(b.secret, null, "A's env is not B's");
  t.is(b.own, "b-own");
  t.deepEqual(b.envKeys, ["B_VAR", "HOME", "NODE_ENV", "PATH", "TMPDIR"]);
  t.is(b.tiny, "hello from tinypkg");
  t.true(b.tinyWasPreloaded, "tinypkg came from the template's module cache");
  t.is(b.tinyLoads, 1);
  t.is(b.esmLoads, 1, "the ESM-only package was preloaded with import()");
  t.not(b.pid, a.pid);
  t.is(b.uid, uidBase + 1);
  t.is(b.cwd, l.codeB);
  t.is(b.tmp, path.join(l.workDir, String(uidBase + 1)));
  t.regex(sc.output(), /badpkg refuses to load/, "a package that fails to import is logged and skipped");

  stats = await client.stats({});
  t.is(stats.role, SidecarRole.FUNCTION);
  t.is(stats.function, "b");
  t.is(stats.workers[0]?.pid, forked.workerPid);
  const next = await waitFor("a replacement template", async () => {
    const s = await client.stats({});
    return s.templatePid > 0 && s.templatePid !== forked.workerPid ? s.templatePid : undefined;
  });
  t.true(next > 0);

  await rejectsWith(t, client.fork({ function: "c", codeDir: l.codeC }), Code.FailedPrecondition, /runs function b: become a zygote first/);

  // B back to a zygote, then a function whose import throws: an error, and still a zygote.
  const becameAgain = await client.becomeZygote({ reason: "b idle" });
  t.is(becameAgain.workersEnded, 1);
  t.false(alive(forked.workerPid));
  // The invocation a failed fork carried never runs: the caller may send it elsewhere.
  await rejectsWith(t, client.fork({ function: "bad", codeDir: l.codeBad, firstRun: { invocationId: "bad1", payload: payload({}) } }), Code.FailedPrecondition, /bad failed to load: .*B cannot start: missing config/);
  stats = await client.stats({});
  t.is(stats.role, SidecarRole.ZYGOTE);
  await rejectsWith(t, client.fork({ function: "c", codeDir: l.codeC, entry: "index.mjs", firstRun: { invocationId: "" } }), Code.InvalidArgument, /first_run.invocation_id/);
  t.is((await client.stats({})).role, SidecarRole.ZYGOTE, "a malformed first run is refused before the fork");

  // A fork may carry its first invocation: one round trip for the hand-over and the run.
  const forkedC = await client.fork({ function: "c", codeDir: l.codeC, entry: "index.mjs", firstRun: { invocationId: "c0", payload: payload({}) } });
  t.log(`Fork of c after a failed fork: fork_us ${forkedC.forkUs} (init_us ${forkedC.initUs}), its first run ${forkedC.firstRunUs} us`);
  t.is(forkedC.firstResult?.invocationId, "c0");
  t.is(forkedC.firstResult?.status, InvocationStatus.OK, forkedC.firstResult?.error?.message);
  t.deepEqual(json(forkedC.firstResult!.output), { c: true, pid: forkedC.workerPid });
  t.true(forkedC.firstRunUs > 0n);
  const ranC = await client.run({ invocationId: "c1", payload: payload({}) });
  t.is(ranC.status, InvocationStatus.OK, ranC.error?.message);
  t.deepEqual(json(ranC.output), { c: true, pid: forkedC.workerPid });
});

test.serial("a stem cell boots as a zygote and its first Fork makes it a function", async (t) => {
  if (!isRoot) return t.pass("needs root for uid isolation");
  const l = makeLayout();
  const sc = await startSidecar(t, l, { FAAS_FUNCTION_NAME: "", FAAS_CODE_DIR: path.join(l.root, "no-code"), FAAS_WORKER_UID_BASE: "47100" });
  const { client } = sc.peer;
  const stats = await client.stats({});
  t.is(stats.role, SidecarRole.ZYGOTE);
  t.is(stats.function, "");
  await rejectsWith(t, client.run({ invocationId: "s1", payload: payload({}) }), Code.FailedPrecondition, /zygote/);
  // Fork waits for the template still importing, if it is.
  const forked = await client.fork({ function: "c", codeDir: l.codeC, entry: "index.mjs" });
  t.log(`stem cell Fork: fork_us ${forked.forkUs} (init_us ${forked.initUs})`);
  const ran = await client.run({ invocationId: "s2", payload: payload({}) });
  t.is(ran.status, InvocationStatus.OK, ran.error?.message);
  t.is(json(ran.output).pid, forked.workerPid);
  t.is((await client.stats({})).role, SidecarRole.FUNCTION);
});

test.serial("fork_us of a warm template, measured over several forks", async (t) => {
  if (!isRoot) return t.pass("needs root for uid isolation");
  const l = makeLayout();
  const sc = await startSidecar(t, l, { FAAS_FUNCTION_NAME: "", FAAS_WORKER_UID_BASE: "47200" });
  const { client } = sc.peer;
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    // BecomeZygote returns once the template is ready: the fork then measures only the hand-over and import.
    await client.becomeZygote({ reason: `round ${i}` });
    const f = await client.fork({ function: `c${i}`, codeDir: l.codeC, entry: "index.mjs" });
    samples.push(Number(f.forkUs));
  }
  samples.sort((x, y) => x - y);
  t.log(`fork_us over ${samples.length} forks of a ready template: min ${samples[0]}, median ${samples[2]}, max ${samples[4]}`);
  t.is(samples.length, 5);
});
