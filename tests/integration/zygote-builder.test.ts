// zygote-builder as its own process on real Docker, real npm and a real nats-server: AssignFunction groups
// functions with overlapping pins into one set and builds its zygote image (packages at /node_modules,
// manifest at /opt/faas/zygote.json), announces it on faas.zygotes, shows it in the plan, and puts a
// conflicting version into another set. Then node-manager's FunctionImages builds a function image FROM
// the zygote, whose code at /fn finds its packages in the zygote's /node_modules.
//
// Everything builds on a runtime image made for this file (the shared runtime image plus a unique label),
// so the zygote images' tags are this run's alone and can be removed without touching anyone else's.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import Docker from "dockerode";
import pino from "pino";
import { functionDigest } from "../../common/function-digest.js";
import { subjects, subscribeEvents } from "../../common/nats.js";
import { connectPeer, type Peer } from "../../common/transport.js";
import { FunctionCodeSchema, FunctionSpecSchema, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { ZygoteImageBuiltSchema, type ZygoteImageBuilt } from "../../gen/faas/events/v1/events_pb.js";
import { ZygoteBuilderService } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import { ZYGOTE_LABELS } from "../../common/image-build.js";
import { FunctionImages } from "../../services/node-manager/function-images.js";
import { ZygoteAssigner } from "../../services/node-manager/zygote-assigner.js";
import { freePort } from "../../scripts/local-mesh.js";
import { eventually } from "../helpers/eventually.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../services/zygote-builder/main.js", import.meta.url));
const SHARED_RUNTIME = process.env.RUNTIME_IMAGE ?? "faas/runtime-nodejs20:dev";
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
const logger = pino({ level: "silent" });
const suffix = Math.random().toString(36).slice(2, 8);
const RUNTIME = `faas-test-runtime/zygote-builder-${suffix}:dev`;
const NPM_TIMEOUT_MS = 180_000;

interface Context {
  dir: string;
  nats?: ChildProcess;
  builder?: ChildProcess;
  builderLog: string[];
  nc?: NatsConnection;
  peer?: Peer<typeof ZygoteBuilderService>;
  url: string;
  events: ZygoteImageBuilt[];
  images: Set<string>;
}
const ctx: Context = { dir: "", url: "", builderLog: [], events: [], images: new Set() };

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${what} not ready in ${timeoutMs} ms:\n${seen.slice(-3000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${seen.slice(-3000)}`));
    });
  });
}

async function dockerBuild(context: string, tag: string) {
  const stream = await docker.buildImage({ context, src: ["Dockerfile"] }, { t: tag, networkmode: "none", rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err || out.find((o) => o.error) ? reject(err ?? new Error(out.find((o) => o.error)!.error)) : resolve())),
  );
}

/** Runs node in a container of the image (its entrypoint is the sidecar, so it is overridden), no network. */
async function nodeIn(image: string, script: string, user?: string): Promise<unknown> {
  const args = ["run", "--rm", "--network", "none", ...(user ? ["--user", user] : []), "--entrypoint", "node", image, "-e", script];
  const { stdout } = await run("docker", args, { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

const spec = (name: string, dependencies: Record<string, string>, files: Record<string, string> = {}): { spec: FunctionSpec; code: ReturnType<typeof codeOf> } => {
  const code = codeOf(files);
  const s = create(FunctionSpecSchema, { name, runtime: "nodejs20", entry: "index.js", dependencies });
  s.digest = functionDigest(s, code);
  return { spec: s, code };
};
const codeOf = (files: Record<string, string>) => create(FunctionCodeSchema, { files: Object.fromEntries(Object.entries(files).map(([p, c]) => [p, new TextEncoder().encode(c)])) });
/** A worker's uid and the group that owns /fn in function images (root:10000 0750): what the sidecar runs a function as. */
const WORKER_USER = "10000:10000";

test.before(async () => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-zygote-test-"));
  const rtDir = path.join(ctx.dir, "runtime");
  fs.mkdirSync(rtDir);
  fs.writeFileSync(path.join(rtDir, "Dockerfile"), `FROM ${SHARED_RUNTIME}\nLABEL faas.test-run=${suffix}\n`);
  await dockerBuild(rtDir, RUNTIME);

  const natsPort = await freePort();
  ctx.nats = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: ["ignore", "pipe", "pipe"] });
  await waitForOutput(ctx.nats, /Server is ready/, "nats-server");
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  ctx.nc = await connect({ servers: natsUrl });
  subscribeEvents(ctx.nc, subjects.zygotes, ZygoteImageBuiltSchema, logger, (e) => ctx.events.push(e));
  await ctx.nc.flush();

  const port = await freePort();
  ctx.builder = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ZYGOTE_BUILDER_PORT: String(port),
      NATS_URL: natsUrl,
      // No gateway here: zygote-builder keeps retrying it in the background and learns functions from AssignFunction.
      GATEWAY_URL: `http://127.0.0.1:${await freePort()}`,
      RUNTIME_IMAGE: RUNTIME,
      ZYGOTE_BUILD_DIR: path.join(ctx.dir, "build"),
      NPM_INSTALL_TIMEOUT_MS: String(NPM_TIMEOUT_MS),
      ZYGOTE_MAX_PACKAGES: "10",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  ctx.builder.stdout!.on("data", (d: Buffer) => ctx.builderLog.push(d.toString()));
  ctx.builder.stderr!.on("data", (d: Buffer) => ctx.builderLog.push(d.toString()));
  await waitForOutput(ctx.builder, /zygote-builder ready/, "zygote-builder");
  ctx.url = `http://127.0.0.1:${port}`;
  ctx.peer = connectPeer(ZygoteBuilderService, ctx.url);
});

test.after.always(async () => {
  ctx.peer?.close();
  await ctx.nc?.close();
  for (const child of [ctx.builder, ctx.nats]) {
    if (!child || child.exitCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  // This run's images: function images, then zygotes, then the runtime they all build FROM.
  const zygotes = await docker.listImages({ filters: { label: [`faas.test-run=${suffix}`] } });
  const tags = [...ctx.images, ...zygotes.flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith("faas-zygote/")), RUNTIME];
  for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => {});
  fs.rmSync(ctx.dir, { recursive: true, force: true });
});

const assign = async (s: FunctionSpec) => (await ctx.peer!.client.assignFunction({ spec: s }, { timeoutMs: NPM_TIMEOUT_MS + 60_000 })).set;

test.serial("overlapping pins share one set whose zygote image holds the exact versions and the manifest", async (t) => {
  const started = Date.now();
  const f = await assign(spec("zt-f", { ms: "2.1.3", "escape-html": "1.0.3" }).spec);
  const firstMs = Date.now() - started;
  t.truthy(f?.image, "the set's image is built before AssignFunction answers");
  ctx.images.add(f!.image);
  t.regex(f!.image, /^faas-zygote\/zs-[0-9a-f]{16}:[0-9a-f]{12}$/);
  const again = Date.now();
  const g = await assign(spec("zt-g", { ms: "2.1.3" }).spec);
  const secondMs = Date.now() - again;
  t.log(`zygote image of {ms, escape-html}: AssignFunction ${firstMs} ms when it built it, ${secondMs} ms when it existed`);
  t.is(g?.id, f!.id);
  t.is(g?.image, f!.image);
  t.deepEqual(g?.functions, ["zt-f", "zt-g"]);
  t.deepEqual({ ...g!.packages }, { "escape-html": "1.0.3", ms: "2.1.3" });

  const inspected = await docker.getImage(f!.image).inspect();
  t.is(inspected.Config.Labels[ZYGOTE_LABELS.set], f!.id);
  t.deepEqual(JSON.parse(inspected.Config.Labels[ZYGOTE_LABELS.packages]), { "escape-html": "1.0.3", ms: "2.1.3" });

  // As an unprivileged uid, like the function's worker: the packages must be readable by anyone.
  const seen = await nodeIn(
    f!.image,
    `console.log(JSON.stringify({ ms: require("/node_modules/ms/package.json").version, esc: require("/node_modules/escape-html/package.json").version, twoHours: require("/node_modules/ms")("2h"), manifest: JSON.parse(require("fs").readFileSync("/opt/faas/zygote.json", "utf8")) }))`,
    "1000:1000",
  );
  t.deepEqual(seen, { ms: "2.1.3", esc: "1.0.3", twoHours: 7_200_000, manifest: { setId: f!.id, packages: { "escape-html": "1.0.3", ms: "2.1.3" } } });

  const event = await eventually(() => ctx.events.find((e) => e.setId === f!.id), "ZygoteImageBuilt on faas.zygotes", 10_000);
  t.is(event.image, f!.image);
  t.deepEqual({ ...event.packages }, { "escape-html": "1.0.3", ms: "2.1.3" });
  t.true(event.buildUs > 0n);
  const line = ctx.builderLog.join("").split("\n").find((l) => l.includes("zygote image built") && l.includes(f!.id));
  const { npmInstallMs, dockerBuildMs } = JSON.parse(line ?? "{}") as { npmInstallMs?: number; dockerBuildMs?: number };
  t.log(`build_us in the event: ${Number(event.buildUs) / 1000} ms (npm install ${npmInstallMs} ms, docker build ${dockerBuildMs} ms)`);

  const plan = (await ctx.peer!.client.getPlan({})).plan!;
  const planned = plan.sets.find((s) => s.id === f!.id);
  t.is(planned?.image, f!.image, "GetPlan shows the built image");
  // The popular (SOCK) set of these two functions has the same packages: the same id, the same image.
  t.is(plan.popular?.id, f!.id);
  t.is(plan.popular?.image, f!.image);
});

test.serial("a conflicting version lands in another set with its own image; BuildImage answers for planned sets only", async (t) => {
  const h = await assign(spec("zt-h", { ms: "2.1.2" }).spec);
  t.truthy(h?.image);
  ctx.images.add(h!.image);
  const plan = (await ctx.peer!.client.getPlan({})).plan!;
  const shared = plan.sets.find((s) => s.functions.includes("zt-f"))!;
  t.not(h!.id, shared.id);
  t.deepEqual(h!.functions, ["zt-h"]);
  t.deepEqual(await nodeIn(h!.image, `console.log(JSON.stringify(require("/node_modules/ms/package.json").version))`), "2.1.2");

  const built = await ctx.peer!.client.buildImage({ setId: h!.id });
  t.is(built.image, h!.image);
  t.is(built.buildUs, 0n, "already built: found, not rebuilt");
  const err = await t.throwsAsync(ctx.peer!.client.buildImage({ setId: "zs-0000000000000000" }));
  t.is(ConnectError.from(err).code, Code.NotFound);
  t.is((await assign(spec("zt-plain", {}).spec)), undefined, "no dependencies: no set");
});

test.serial("node-manager's assigner gets the set with its image, and falls back to none when zygote-builder is down", async (t) => {
  const assigner = new ZygoteAssigner({ url: ctx.url, npmInstallTimeoutMs: NPM_TIMEOUT_MS, logger });
  const down = new ZygoteAssigner({ url: `http://127.0.0.1:${await freePort()}`, npmInstallTimeoutMs: 1000, logger });
  try {
    const z = await assigner.assign(spec("zt-g", { ms: "2.1.3" }).spec);
    t.regex(z?.setId ?? "", /^zs-/);
    t.truthy(z?.image);
    t.deepEqual(z?.packages, { "escape-html": "1.0.3", ms: "2.1.3" });
    t.is((await assigner.plan())?.generation, z?.generation);
    t.is(await down.assign(spec("zt-g", { ms: "2.1.3" }).spec), undefined);
    t.is(await down.plan(), undefined);
  } finally {
    assigner.close();
    down.close();
  }
});

test.serial("a function image built FROM the zygote finds its packages in /node_modules; the code store keeps both copies", async (t) => {
  const plan = (await ctx.peer!.client.getPlan({})).plan!;
  const shared = plan.sets.find((s) => s.functions.includes("zt-f"))!;
  const images = new FunctionImages({ docker, runtimeImage: RUNTIME, buildDir: path.join(ctx.dir, "fn-build"), codeStoreDir: path.join(ctx.dir, "code"), npmInstallTimeoutMs: NPM_TIMEOUT_MS });
  await images.checkRuntimeImage();
  const zygote = { setId: shared.id, image: shared.image, packages: { ...shared.packages } };
  const index = `module.exports.main = () => ({ twoHours: require("ms")("2h"), ms: require("ms/package.json").version, esc: require("escape-html/package.json").version, msFrom: require.resolve("ms") });`;

  // Normal case: the set covers every dependency at its exact version; the image adds code only.
  const normal = spec(`zt-fn-${suffix}`, { ms: "2.1.3", "escape-html": "1.0.3" }, { "index.js": index });
  const started = Date.now();
  const built = await images.ensure(normal.spec, normal.code, zygote);
  ctx.images.add(built.image);
  t.log(`function image FROM the zygote: ${Date.now() - started} ms (host npm install for the code store included)`);
  t.regex(built.image, new RegExp(`^faas-fn/zt-fn-${suffix}:[0-9a-f]{16}-${shared.id.slice(3, 15)}-[0-9a-f]{12}$`));
  const run1 = `console.log(JSON.stringify({ ...require("/fn/index.js").main(), ownModules: require("fs").existsSync("/fn/node_modules") }))`;
  t.deepEqual(await nodeIn(built.image, run1, WORKER_USER), { twoHours: 7_200_000, ms: "2.1.3", esc: "1.0.3", msFrom: "/node_modules/ms/index.js", ownModules: false });
  const listed = (await images.list()).find((p) => p.image === built.image);
  t.is(listed?.setId, shared.id);
  t.deepEqual(listed?.packages, { "escape-html": "1.0.3", ms: "2.1.3" });

  // The code store: `code` without node_modules, `full` with all dependencies; world-readable.
  t.deepEqual(fs.readdirSync(built.codeDirs.code).sort(), ["index.js", "package.json"]);
  t.true(fs.existsSync(path.join(built.codeDirs.full, "node_modules/ms/package.json")));
  t.true(fs.existsSync(path.join(built.codeDirs.full, "node_modules/escape-html/package.json")));
  t.is(fs.statSync(path.join(built.codeDirs.code, "index.js")).mode & 0o777, 0o644);
  t.is(fs.statSync(built.codeDirs.full).mode & 0o777, 0o755);
  t.is(fs.statSync(path.join(built.codeDirs.full, "node_modules/ms/index.js")).mode & 0o777, 0o644);
  t.deepEqual(images.storedCode(normal.spec), built.codeDirs);

  // A dependency the set holds at another version goes into /fn/node_modules, found before the zygote's.
  const other = spec(`zt-fn2-${suffix}`, { ms: "2.1.3", "escape-html": "1.0.2" }, { "index.js": index });
  const built2 = await images.ensure(other.spec, other.code, zygote);
  ctx.images.add(built2.image);
  const seen2 = (await nodeIn(built2.image, run1, WORKER_USER)) as Record<string, unknown>;
  t.like(seen2, { ms: "2.1.3", esc: "1.0.2", msFrom: "/node_modules/ms/index.js", ownModules: true });

  // Without a zygote: the runtime image with the function's own node_modules, as before; another image.
  const plain = await images.ensure(normal.spec, normal.code);
  ctx.images.add(plain.image);
  t.not(plain.image, built.image);
  t.true(plain.image.includes("-none-"));
  t.like(await nodeIn(plain.image, run1, WORKER_USER), { ms: "2.1.3", msFrom: "/fn/node_modules/ms/index.js", ownModules: true });
});
