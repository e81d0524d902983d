import test from "ava";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FunctionCodeSchema, FunctionSpecSchema, LimitsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { DEFAULT_LIMITS, validateDeploy, ValidationError } from "../../services/gateway/function-validation.js";

const enc = (s: string) => new TextEncoder().encode(s);
const code = (files: Record<string, string> = { "index.js": "exports.main = () => 1" }) =>
  create(FunctionCodeSchema, { files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, enc(v)])) });
const spec = (over: Omit<MessageInitShape<typeof FunctionSpecSchema>, "$typeName"> = {}) => create(FunctionSpecSchema, { name: "fn", ...over });
const bounds = { maxCodeBytes: 1000 };

function rejects(t: import("ava").ExecutionContext, f: () => unknown, field: RegExp, tooLarge = false) {
  const err = t.throws(f, { instanceOf: ValidationError }) as ValidationError;
  t.regex(err.field, field);
  t.is(err.tooLarge, tooLarge);
}

test("defaults are resolved and a digest is set", (t) => {
  const v = validateDeploy(spec(), code(), bounds, 5n);
  t.is(v.spec.runtime, "nodejs20");
  t.is(v.spec.entry, "index.js");
  t.is(v.spec.limits?.memoryMb, DEFAULT_LIMITS.memoryMb);
  t.is(v.spec.limits?.timeoutMs, DEFAULT_LIMITS.timeoutMs);
  t.is(v.spec.limits?.maxConcurrency, 1);
  t.regex(v.spec.digest, /^sha256:[0-9a-f]{64}$/);
  t.is(v.spec.createdAtUnixUs, 5n);
});

test("the digest follows the code and dependencies, not the limits", (t) => {
  const a = validateDeploy(spec(), code(), bounds, 0n).spec.digest;
  const b = validateDeploy(spec({ limits: create(LimitsSchema, { memoryMb: 512 }) }), code(), bounds, 0n).spec.digest;
  const c = validateDeploy(spec(), code({ "index.js": "exports.main = () => 2" }), bounds, 0n).spec.digest;
  const d = validateDeploy(spec({ dependencies: { marked: "12.0.2" } }), code(), bounds, 0n).spec.digest;
  t.is(a, b);
  t.not(a, c);
  t.not(a, d);
});

test("names must be DNS-label-like", (t) => {
  for (const name of ["", "Upper", "-x", "x-", "a_b", "a".repeat(64), "é"]) rejects(t, () => validateDeploy(spec({ name }), code(), bounds, 0n), /spec\.name/);
  t.notThrows(() => validateDeploy(spec({ name: "a-1" }), code(), bounds, 0n));
});

test("dependencies must be exact versions of valid package names", (t) => {
  for (const v of ["^1.0.0", "~1.2.3", "1.x", "latest", "1.2", "git+https://x", ">=1.0.0", "*"]) {
    rejects(t, () => validateDeploy(spec({ dependencies: { marked: v } }), code(), bounds, 0n), /spec\.dependencies/);
  }
  rejects(t, () => validateDeploy(spec({ dependencies: { "../evil": "1.0.0" } }), code(), bounds, 0n), /spec\.dependencies/);
  t.notThrows(() => validateDeploy(spec({ dependencies: { "@scope/pkg": "1.0.0-beta.1+build.5", marked: "12.0.2" } }), code(), bounds, 0n));
});

test("code paths cannot leave the function's directory", (t) => {
  for (const p of ["../x.js", "/etc/passwd", "a/../../b", "a//b", "a\\b", "./a", "node_modules/x/index.js", "x\0y"]) {
    rejects(t, () => validateDeploy(spec(), code({ "index.js": "", [p]: "" }), bounds, 0n), /code\.files/);
  }
});

test("the entry must be among the files", (t) => {
  rejects(t, () => validateDeploy(spec({ entry: "main.js" }), code(), bounds, 0n), /spec\.entry/);
  rejects(t, () => validateDeploy(spec(), undefined, bounds, 0n), /spec\.entry/);
});

test("limits out of range are rejected, size bounds are marked too large", (t) => {
  rejects(t, () => validateDeploy(spec({ limits: create(LimitsSchema, { memoryMb: 10 }) }), code(), bounds, 0n), /memoryMb/);
  rejects(t, () => validateDeploy(spec({ limits: create(LimitsSchema, { timeoutMs: 10_000_000 }) }), code(), bounds, 0n), /timeoutMs/);
  rejects(t, () => validateDeploy(spec(), code({ "index.js": "x".repeat(1001) }), bounds, 0n), /code\.files/, true);
});

test("env keys are checked and FAAS_ is reserved", (t) => {
  rejects(t, () => validateDeploy(spec({ env: { "1BAD": "x" } }), code(), bounds, 0n), /spec\.env/);
  rejects(t, () => validateDeploy(spec({ env: { FAAS_SOCKET_PATH: "/x" } }), code(), bounds, 0n), /spec\.env/);
  t.notThrows(() => validateDeploy(spec({ env: { API_KEY: "s3cret" } }), code(), bounds, 0n));
});

test("only nodejs20 is a runtime", (t) => {
  rejects(t, () => validateDeploy(spec({ runtime: "python3" }), code(), bounds, 0n), /spec\.runtime/);
});

test("a missing spec is an error", (t) => {
  rejects(t, () => validateDeploy(undefined, code(), bounds, 0n), /^spec$/);
});

test("workers, pure and the batching window are kept, and bounded", (t) => {
  const v = validateDeploy(spec({ limits: create(LimitsSchema, { workers: 4 }), pure: true, batchWindowMs: 250 }), code(), bounds, 0n).spec;
  t.is(v.limits?.workers, 4);
  t.true(v.pure);
  t.is(v.batchWindowMs, 250);
  t.is(validateDeploy(spec(), code(), bounds, 0n).spec.limits?.workers, DEFAULT_LIMITS.workers, "one worker by default");
  rejects(t, () => validateDeploy(spec({ limits: create(LimitsSchema, { workers: 17 }) }), code(), bounds, 0n), /workers/);
  rejects(t, () => validateDeploy(spec({ batchWindowMs: 10_001 }), code(), bounds, 0n), /batch_window_ms/);
});
