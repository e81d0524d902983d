// Hardened function containers on real components: a function deployed as a .tar.gz archive reports from
// inside that it is not root, has no capability and no new privileges, cannot write outside its own
// directory, and has no network but loopback; Docker's inspect shows the settings that make it so. A deploy
// asking for the host's network is refused while the operator has not allowed it.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import Docker from "dockerode";
import * as grpc from "@grpc/grpc-js";
import { readFunctionArchive, readFunctionDir } from "../../client/function-dir.js";
import { GrpcCallError } from "../../client/grpc-js.js";
import { InvocationStatus, StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { LABELS } from "../../services/node-manager/labels.js";
import { FIXTURES, json, parse, useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, {
  env: { "node-manager": { CONTAINER_CPUS_PER_WORKER: "0.5", CONTAINER_TMPFS_MB: "32", CONTAINER_PIDS_LIMIT: "256" } },
});

const docker = new Docker();

test.serial("a function deployed as a .tar.gz runs hardened: not root, no capabilities, read-only outside its directory, no network", async (t) => {
  const archive = path.join(ctx.dir, "hardened.tar.gz");
  execFileSync("tar", ["-czf", archive, "-C", path.join(FIXTURES, "hardened"), "."]);
  await ctx.gateway.deployFunction(readFunctionArchive(archive, { name: "hardened" }), { timeoutMs: 600_000 });

  const { message: out } = await ctx.gateway.invoke({ function: "hardened", payload: json({}) }, { timeoutMs: 120_000 });
  t.is(out.status, InvocationStatus.OK, out.error?.message);
  t.is(out.startKind, StartKind.COLD);
  const seen = parse(out.output);
  t.log(JSON.stringify(seen));

  t.not(seen.uid, 0, "the function does not run as root");
  t.is(seen.status.Uid.split(/\s+/)[0], String(seen.uid));
  t.is(seen.status.CapEff, "0000000000000000", "no effective capability");
  t.is(seen.status.CapPrm, "0000000000000000", "no permitted capability");
  t.is(seen.status.CapAmb, "0000000000000000");
  t.is(seen.status.NoNewPrivs, "1");
  // Whatever the sidecar kept (its bounding set) is far from root's full set; none can be regained anyway.
  t.true(BigInt(`0x${seen.status.CapBnd}`) <= 0xffn, `bounding set ${seen.status.CapBnd}`);

  t.deepEqual(seen.interfaces, ["lo"], "only loopback: no network");

  t.false(seen.writes.root.ok);
  t.true(["EROFS", "EACCES"].includes(seen.writes.root.code), `writing / failed with ${seen.writes.root.code}`);
  t.is(seen.cwd, "/fn");
  t.false(seen.writes.code.ok, "its code directory is read-only");
  t.true(["EROFS", "EACCES"].includes(seen.writes.code.code), `writing /fn failed with ${seen.writes.code.code}`);
  t.false(seen.writes.opt.ok, "the sidecar's files are read-only");
  t.false(seen.writes.run.ok, "the run directory (on the host's disk) is not the function's");
  t.false(seen.writes.tmp.ok, "/tmp itself is locked: each worker writes in its own directory");
  t.true(seen.writes.home.ok, `its own directory ${seen.tmpdir} is writable: ${JSON.stringify(seen.writes.home)}`);
  t.true(seen.tmpdir.startsWith("/tmp/"), "its directory is on the /tmp tmpfs");
  t.is(seen.sidecarEnv, "EACCES", "the container's environment stays root's");

  // The record's container id is the platform's; Docker's container carries it as a label.
  const [found] = await docker.listContainers({ filters: { label: [`${LABELS.container}=${out.containerId}`] } });
  t.truthy(found, `a Docker container labelled ${out.containerId}`);
  const info = await docker.getContainer(found!.Id).inspect();
  const host = info.HostConfig as Docker.HostConfig & { ReadonlyRootfs?: boolean; NanoCpus?: number; Tmpfs?: Record<string, string> };
  t.true(host.ReadonlyRootfs);
  t.deepEqual(host.CapDrop, ["ALL"]);
  t.deepEqual([...(host.CapAdd ?? [])].map((c) => c.replace(/^CAP_/, "")).sort(), ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]);
  t.deepEqual(host.SecurityOpt, ["no-new-privileges"]);
  t.is(host.NetworkMode, "none");
  t.is(host.NanoCpus, 500_000_000, "CONTAINER_CPUS_PER_WORKER 0.5 times one worker");
  t.is(host.PidsLimit, 256);
  t.is(host.Memory, 128 * 1024 * 1024);
  t.regex(host.Tmpfs?.["/tmp"] ?? "", /size=32m/);
  t.regex(host.Tmpfs?.["/tmp"] ?? "", /noexec/);
  t.is(info.Config.User ?? "", "", "the sidecar is the container's root, with the capabilities above only");
});

test.serial("a deploy asking for the host's network is refused while the operator has not allowed it", async (t) => {
  const request = readFunctionDir(path.join(FIXTURES, "hardened"), { name: "wants-host-net", hostNetwork: true });
  const err = await t.throwsAsync(ctx.gateway.deployFunction(request, { timeoutMs: 60_000 }), { instanceOf: GrpcCallError });
  t.is((err as GrpcCallError).code, grpc.status.FAILED_PRECONDITION);
  t.regex((err as GrpcCallError).details, /host_network/);
  const listed = (await ctx.gateway.listFunctions({})).message.functions.map((f) => f.name);
  t.false(listed.some((n) => n.endsWith("wants-host-net")));
});

test.serial("an archive the gateway refuses names the entry at fault", async (t) => {
  const bad = path.join(ctx.dir, "bad");
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, "index.js"), "exports.main = () => 1;\n");
  fs.symlinkSync("/etc/passwd", path.join(bad, "passwd"));
  const archive = path.join(ctx.dir, "bad.tar.gz");
  execFileSync("tar", ["-czf", archive, "-C", bad, "."]);
  const request = readFunctionDir(bad, { name: "bad-archive" });
  request.code!.files = {};
  request.code!.archive = fs.readFileSync(archive);
  const err = await t.throwsAsync(ctx.gateway.deployFunction(request, { timeoutMs: 60_000 }), { instanceOf: GrpcCallError });
  t.is((err as GrpcCallError).code, grpc.status.INVALID_ARGUMENT);
  t.regex((err as GrpcCallError).details, /code\.archive: entry "\.\/passwd": symlink to the absolute path "\/etc\/passwd"/);
});
