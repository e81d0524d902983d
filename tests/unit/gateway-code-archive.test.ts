// The gateway's code archives: real .tar/.tar.gz bytes, from the system's GNU tar and from a tiny writer
// below (for what tar refuses to make: traversal, devices, bad checksums), unpacked or refused.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import test, { type ExecutionContext } from "ava";
import { FunctionCodeSchema, FunctionSpecSchema } from "../../gen/faas/common/v1/common_pb.js";
import { CodeArchiveError, unpackCodeArchive, type ArchiveBounds } from "../../services/gateway/code-archive.js";
import { NotAllowedError, validateDeploy, ValidationError } from "../../services/gateway/function-validation.js";

const MiB = 1024 * 1024;
const bounds: ArchiveBounds = { maxArchiveBytes: 50 * MiB, maxUnpackedBytes: 50 * MiB };
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

// ---- a tiny tar writer ------------------------------------------------------------------------------

interface HeaderInit {
  type?: string;
  size?: number;
  linkname?: string;
  prefix?: string;
  magic?: "posix" | "gnu";
  /** Corrupts the checksum. */
  badChecksum?: boolean;
}

function header(name: string, o: HeaderInit = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  const octal = (at: number, len: number, v: number) => h.write(v.toString(8).padStart(len - 1, "0") + "\0", at, len, "ascii");
  octal(100, 8, o.type === "5" ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, o.size ?? 0);
  octal(136, 12, 1_700_000_000);
  h.write(o.type ?? "0", 156, 1, "ascii");
  if (o.linkname) h.write(o.linkname, 157, 100, "utf8");
  if (o.magic === "gnu") h.write("ustar  \0", 257, 8, "ascii");
  else h.write("ustar\u000000", 257, 8, "ascii");
  if (o.prefix) h.write(o.prefix, 345, 155, "utf8");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (o.badChecksum) sum += 1;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function file(name: string, content: string | Buffer, o: HeaderInit = {}): Buffer {
  const data = typeof content === "string" ? Buffer.from(content) : content;
  return Buffer.concat([header(name, { ...o, size: data.length }), pad(data)]);
}
const dir = (name: string) => header(name, { type: "5" });
const symlink = (name: string, target: string) => header(name, { type: "2", linkname: target });

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
}
const pax = (records: Record<string, string>) => file("PaxHeader", Object.entries(records).map(([k, v]) => paxRecord(k, v)).join(""), { type: "x" });
const gnuLongName = (name: string) => file("././@LongLink", `${name}\0`, { type: "L", magic: "gnu" });

const tar = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);

function refused(t: ExecutionContext, archive: Uint8Array, message: RegExp, o: { tooLarge?: boolean; bounds?: ArchiveBounds } = {}): CodeArchiveError {
  const err = t.throws(() => unpackCodeArchive(archive, o.bounds ?? bounds), { instanceOf: CodeArchiveError }) as CodeArchiveError;
  t.regex(err.message, message);
  t.is(err.tooLarge, o.tooLarge ?? false, `tooLarge of: ${err.message}`);
  return err;
}

// ---- archives made by GNU tar -----------------------------------------------------------------------

function tempDir(t: ExecutionContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "code-archive-"));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const LONG = `lib/${"very-long-directory-name/".repeat(6)}module.js`; // > 100 characters: needs a long-name header

function functionDir(t: ExecutionContext): string {
  const root = tempDir(t);
  const fn = path.join(root, "fn");
  fs.mkdirSync(path.join(fn, path.dirname(LONG)), { recursive: true });
  fs.writeFileSync(path.join(fn, "index.js"), "exports.main = () => require('./lib/alias.js')();\n");
  fs.writeFileSync(path.join(fn, "package.json"), JSON.stringify({ name: "fn", dependencies: {} }));
  fs.writeFileSync(path.join(fn, "lib", "util.js"), "module.exports = () => 42;\n");
  fs.writeFileSync(path.join(fn, LONG), "module.exports = 'deep';\n");
  fs.symlinkSync("util.js", path.join(fn, "lib", "alias.js"));
  return fn;
}

for (const format of ["gnu", "pax", "ustar"] as const) {
  test(`GNU tar --format=${format}, gzipped and not: files, long names and an inside symlink resolved into a copy`, (t) => {
    const fn = functionDir(t);
    const out = tempDir(t);
    for (const gz of [true, false]) {
      const archive = path.join(out, `fn-${format}.tar${gz ? ".gz" : ""}`);
      execFileSync("tar", [`--format=${format}`, gz ? "-czf" : "-cf", archive, "-C", fn, "."]);
      const files = unpackCodeArchive(fs.readFileSync(archive), bounds);
      t.deepEqual(Object.keys(files).sort(), ["index.js", LONG, "lib/alias.js", "lib/util.js", "package.json"].sort());
      t.is(text(files[LONG]), "module.exports = 'deep';\n");
      t.is(text(files["lib/alias.js"]), text(files["lib/util.js"]), "the symlink is a copy of its target");
    }
  });
}

test("an archive of the directory itself (tar -czf f.tgz fn) keeps fn/ in its paths", (t) => {
  const fn = functionDir(t);
  const archive = path.join(tempDir(t), "fn.tgz");
  execFileSync("tar", ["-czf", archive, "-C", path.dirname(fn), "fn"]);
  const files = unpackCodeArchive(fs.readFileSync(archive), bounds);
  t.truthy(files["fn/index.js"]);
});

test("GNU tar's own hard links and FIFOs are refused, naming the entry", (t) => {
  const fn = functionDir(t);
  const out = tempDir(t);
  fs.linkSync(path.join(fn, "lib", "util.js"), path.join(fn, "lib", "hard.js"));
  const hard = path.join(out, "hard.tar");
  execFileSync("tar", ["-cf", hard, "-C", fn, "."]);
  const err = refused(t, fs.readFileSync(hard), /hard links are not allowed/);
  t.regex(err.message, /lib\/(hard|util)\.js/);

  fs.rmSync(path.join(fn, "lib", "hard.js"));
  execFileSync("mkfifo", [path.join(fn, "pipe")]);
  const fifo = path.join(out, "fifo.tar.gz");
  execFileSync("tar", ["-czf", fifo, "-C", fn, "."]);
  refused(t, fs.readFileSync(fifo), /entry "\.\/pipe": FIFOs are not allowed/);
});

test("GNU tar's symlink out of the directory is refused", (t) => {
  const fn = functionDir(t);
  fs.symlinkSync("../../etc/passwd", path.join(fn, "lib", "passwd"));
  const archive = path.join(tempDir(t), "escape.tar.gz");
  execFileSync("tar", ["-czf", archive, "-C", fn, "."]);
  refused(t, fs.readFileSync(archive), /entry "\.\/lib\/passwd": symlink to "\.\.\/\.\.\/etc\/passwd" leaves the function's directory/);
});

// ---- written by hand ---------------------------------------------------------------------------------

test("the tiny writer's archives read back: POSIX prefix, pax path, GNU long name, directories", (t) => {
  const files = unpackCodeArchive(
    tar(file("pax_global_header", paxRecord("comment", "git archive's commit id"), { type: "g" }), dir("./"), dir("lib/"), file("index.js", "a"), file("x.js", "b", { prefix: "lib" }), pax({ path: "lib/from-pax.js" }), file("ignored-name", "c"), gnuLongName("lib/from-gnu.js"), file("short", "d", { magic: "gnu" })),
    bounds,
  );
  t.deepEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, text(v)])), { "index.js": "a", "lib/x.js": "b", "lib/from-pax.js": "c", "lib/from-gnu.js": "d" });
});

test("absolute paths and '..' are refused, however the name is carried", (t) => {
  refused(t, tar(file("/etc/cron.d/evil", "x")), /entry "\/etc\/cron.d\/evil": absolute paths are not allowed/);
  refused(t, tar(file("../evil.js", "x")), /entry "\.\.\/evil\.js": '\.\.' would leave/);
  refused(t, tar(file("lib/../../evil.js", "x")), /'\.\.' would leave/);
  refused(t, tar(pax({ path: "../../evil.js" }), file("innocent.js", "x")), /entry "\.\.\/\.\.\/evil\.js": '\.\.' would leave/);
  refused(t, tar(gnuLongName(`${"a/".repeat(60)}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../..`), file("x", "x", { magic: "gnu" })), /'\.\.' would leave/);
  refused(t, tar(file("b.js", "x", { prefix: "/abs" })), /absolute paths/);
  refused(t, tar(file("a//b.js", "x")), /empty or '\.' segments/);
});

test("hard links, devices, FIFOs and unknown types are refused", (t) => {
  refused(t, tar(file("a.js", "x"), header("b.js", { type: "1", linkname: "a.js" })), /entry "b\.js": hard links are not allowed/);
  refused(t, tar(header("dev/null", { type: "3" })), /entry "dev\/null": device files/);
  refused(t, tar(header("dev/sda", { type: "4" })), /device files/);
  refused(t, tar(header("pipe", { type: "6" })), /entry "pipe": FIFOs/);
  refused(t, tar(header("sparse", { type: "S" })), /unsupported entry type "S"/);
});

test("symlinks: inside ones become copies (also through another link); outside, absolute, dangling, to a directory or looping are refused", (t) => {
  const ok = unpackCodeArchive(tar(file("lib/a.js", "A"), symlink("lib/b.js", "a.js"), symlink("c.js", "lib/b.js"), symlink("lib/d.js", "../c.js")), bounds);
  t.is(text(ok["c.js"]), "A");
  t.is(text(ok["lib/d.js"]), "A");
  refused(t, tar(symlink("lib/x", "../../secret")), /entry "lib\/x": symlink to "\.\.\/\.\.\/secret" leaves the function's directory/);
  refused(t, tar(symlink("x", "/etc/passwd")), /entry "x": symlink to the absolute path "\/etc\/passwd" leaves/);
  refused(t, tar(symlink("x", "missing.js")), /entry "x": symlink target "missing\.js" is not a file in the archive/);
  refused(t, tar(dir("lib/"), file("lib/a.js", "A"), symlink("l", "lib")), /entry "l": symlink to the directory "lib"/);
  refused(t, tar(symlink("a", "b"), symlink("b", "a")), /loop/);
  // A link through a linked directory is not followed: only file entries are targets.
  refused(t, tar(dir("lib/"), file("lib/a.js", "A"), symlink("l", "lib"), symlink("x", "l/a.js")), /entry "(l|x)"/);
});

test("malformed archives: bad checksum, truncated, duplicates, data after the end, not a tar at all", (t) => {
  refused(t, tar(file("a.js", "x", { badChecksum: true })), /entry "a\.js": header checksum mismatch/);
  const whole = tar(file("a.js", "x".repeat(2000)));
  refused(t, whole.subarray(0, 1024), /entry "a\.js": the archive is truncated/);
  refused(t, file("a.js", "x"), /no end-of-archive block/);
  refused(t, tar(file("a.js", "x"), file("./a.js", "y")), /entry "\.\/a\.js": appears twice/);
  refused(t, tar(file("a", "x"), file("a/b.js", "y")), /entry "a\/b\.js": its parent "a" is a file/);
  refused(t, Buffer.concat([tar(file("a.js", "x")), Buffer.from("trailing")]), /data after the end-of-archive block/);
  refused(t, Buffer.from("PK\u0003\u0004 this is a zip".padEnd(1024, "\0")), /not a tar archive/);
  refused(t, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), /not a valid gzip stream/);
});

test("size bounds: archive size, unpacked total (symlink copies included), entry count", (t) => {
  const big = tar(file("a.bin", Buffer.alloc(3000)));
  refused(t, big, /the archive is \d+ bytes, over the limit of 2048/, { tooLarge: true, bounds: { maxArchiveBytes: 2048, maxUnpackedBytes: MiB } });
  refused(t, tar(file("a.bin", Buffer.alloc(600)), file("b.bin", Buffer.alloc(600))), /entry "b\.bin": unpacked files exceed 1000 bytes/, {
    tooLarge: true,
    bounds: { maxArchiveBytes: MiB, maxUnpackedBytes: 1000 },
  });
  const links = Array.from({ length: 10 }, (_, i) => symlink(`l${i}`, "a.bin"));
  refused(t, tar(file("a.bin", Buffer.alloc(600)), ...links), /symlinks resolved into copies\) exceed 5000 bytes/, { tooLarge: true, bounds: { maxArchiveBytes: MiB, maxUnpackedBytes: 5000 } });
  const many = Array.from({ length: 11 }, (_, i) => file(`f${i}.js`, "x"));
  refused(t, tar(...many), /entry "f10\.js": more than 10 entries/, { tooLarge: true, bounds: { maxArchiveBytes: MiB, maxUnpackedBytes: MiB, maxEntries: 10 } });
  refused(t, tar(file("a.bin", Buffer.alloc(0), { size: 0 }), header("huge", { size: 0o77777777777 })), /entry "huge": the archive is truncated/);
});

/** gzip members concatenated inflate as one stream: a 1 GiB bomb built in milliseconds from one 1 MiB member. */
function gzipBomb(headerBlock: Buffer, mib: number): Buffer {
  const zeros = zlib.gzipSync(Buffer.alloc(MiB), { level: 9 });
  return Buffer.concat([zlib.gzipSync(headerBlock), ...Array.from({ length: mib }, () => zeros)]);
}

test("a 1 GiB gzip bomb is refused quickly, without inflating it", (t) => {
  const bomb = gzipBomb(header("zeros.bin", { size: 1024 * MiB }), 1024);
  t.true(bomb.length < 2 * MiB, `the bomb is ${bomb.length} bytes`);
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  refused(t, bomb, /inflates past \d+ bytes, more than the code limit allows/, { tooLarge: true });
  const ms = performance.now() - started;
  t.true(ms < 3000, `took ${ms} ms`);
  t.true(process.memoryUsage().arrayBuffers - before < 256 * MiB, "no GiB was allocated");
});

test("a high compression ratio is refused as a bomb even under the size bound", (t) => {
  // 20 MiB of zeros (under the 50 MiB bound) from ~20 KiB: about 1000:1.
  const bomb = gzipBomb(header("zeros.bin", { size: 20 * MiB }), 20);
  refused(t, bomb, /inflates more than 100:1 .*compression bomb/, { tooLarge: true });
  // Small archives are mostly tar padding: never refused for their ratio.
  t.truthy(unpackCodeArchive(zlib.gzipSync(tar(file("index.js", "x"))), bounds)["index.js"]);
});

// ---- through validateDeploy -------------------------------------------------------------------------

const spec = (over: Record<string, unknown> = {}) => create(FunctionSpecSchema, { name: "fn", ...over });

test("validateDeploy unpacks an archive into files: the same digest as the files themselves", (t) => {
  const archive = zlib.gzipSync(tar(file("index.js", "exports.main = () => 1"), file("lib/u.js", "u")));
  const fromArchive = validateDeploy(spec(), create(FunctionCodeSchema, { archive }), { maxCodeBytes: MiB }, 1n);
  t.deepEqual(Object.keys(fromArchive.code.files).sort(), ["index.js", "lib/u.js"]);
  t.is(fromArchive.code.archive.length, 0, "the archive is not passed on");
  const fromFiles = validateDeploy(spec(), create(FunctionCodeSchema, { files: fromArchive.code.files }), { maxCodeBytes: MiB }, 1n);
  t.is(fromArchive.spec.digest, fromFiles.spec.digest);
});

test("validateDeploy: archive errors name code.archive and the entry; files and archive together are refused; the usual path rules apply", (t) => {
  const err = t.throws(() => validateDeploy(spec(), create(FunctionCodeSchema, { archive: tar(file("../x.js", "x")) }), { maxCodeBytes: MiB }, 1n), { instanceOf: ValidationError }) as ValidationError;
  t.is(err.field, "code.archive");
  t.regex(err.message, /code\.archive: entry "\.\.\/x\.js"/);
  const big = t.throws(() => validateDeploy(spec(), create(FunctionCodeSchema, { archive: tar(file("index.js", Buffer.alloc(5000))) }), { maxCodeBytes: 4096 }, 1n), { instanceOf: ValidationError }) as ValidationError;
  t.true(big.tooLarge, "a size bound: RESOURCE_EXHAUSTED");
  const both = t.throws(() => validateDeploy(spec(), create(FunctionCodeSchema, { files: { "index.js": Buffer.from("x") }, archive: tar(file("index.js", "x")) }), { maxCodeBytes: MiB }, 1n), { instanceOf: ValidationError }) as ValidationError;
  t.regex(both.message, /either files or an archive, not both/);
  const nm = t.throws(() => validateDeploy(spec(), create(FunctionCodeSchema, { archive: tar(file("index.js", "x"), file("node_modules/x/index.js", "x")) }), { maxCodeBytes: MiB }, 1n), { instanceOf: ValidationError }) as ValidationError;
  t.regex(nm.message, /node_modules is installed by the platform/);
});

test("host networking: refused with FAILED_PRECONDITION unless the operator allows it, then kept in the spec", (t) => {
  const code = create(FunctionCodeSchema, { files: { "index.js": Buffer.from("x") } });
  const err = t.throws(() => validateDeploy(spec({ hostNetwork: true }), code, { maxCodeBytes: MiB }, 1n), { instanceOf: NotAllowedError }) as NotAllowedError;
  t.true(err instanceof ConnectError);
  t.is(err.code, Code.FailedPrecondition);
  t.regex(err.message, /spec\.host_network/);
  t.true(validateDeploy(spec({ hostNetwork: true }), code, { maxCodeBytes: MiB, allowHostNetwork: true }, 1n).spec.hostNetwork);
  t.false(validateDeploy(spec(), code, { maxCodeBytes: MiB }, 1n).spec.hostNetwork);
});
