import test from "ava";
import { describeThrown, MAX_STACK_BYTES, MAX_STACK_FRAMES, trimStack, truncateUtf8 } from "../../sidecar/worker/error-report.js";

const WORKER = "/opt/faas/worker.js";

test("drops Node internals and the worker bundle's frames, keeps the function's", (t) => {
  const stack = [
    "TypeError: boom",
    "    at exports.main (/fn/index.js:4:25)",
    "    at helper (file:///fn/lib/util.mjs:10:3)",
    "    at run (/opt/faas/worker.js:210:20)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "    at Module._compile (node:internal/modules/cjs/loader:1364:14)",
    "    at async Promise.all (index 0)",
  ].join("\n");
  t.is(
    trimStack(stack, [WORKER]),
    ["TypeError: boom", "    at exports.main (/fn/index.js:4:25)", "    at helper (file:///fn/lib/util.mjs:10:3)", "    at async Promise.all (index 0)"].join("\n"),
  );
});

test("keeps a SyntaxError's header lines (file:line, source, caret)", (t) => {
  const stack = "/fn/index.js:3\n  exports.main = (=> 1;\n                  ^^\n\nSyntaxError: Unexpected token '=>'\n    at internalCompileFunction (node:internal/vm:76:18)";
  t.is(trimStack(stack, [WORKER]), "/fn/index.js:3\n  exports.main = (=> 1;\n                  ^^\n\nSyntaxError: Unexpected token '=>'");
});

test("at most 20 frames, then a count of the rest", (t) => {
  const frames = Array.from({ length: 50 }, (_, i) => `    at f${i} (/fn/index.js:${i + 1}:1)`);
  const out = trimStack(["RangeError: Maximum call stack size exceeded", ...frames].join("\n"), [WORKER]).split("\n");
  t.is(out.filter((l) => l.startsWith("    at ")).length, MAX_STACK_FRAMES);
  t.is(out[out.length - 1], "    ... 30 more frames");
});

test("never more than 4 KB, even with a huge message or long frames", (t) => {
  const long = Array.from({ length: 19 }, (_, i) => `    at f${i} (/fn/${"x".repeat(400)}.js:1:1)`);
  const out = trimStack(["Error: m", ...long].join("\n"), []);
  t.true(Buffer.byteLength(out) <= MAX_STACK_BYTES);
  t.regex(out, /more frames$/);
  const huge = trimStack("Error: " + "é".repeat(10_000), []);
  t.true(Buffer.byteLength(huge) <= MAX_STACK_BYTES);
});

test("truncateUtf8 respects the byte bound and never splits a character", (t) => {
  const s = truncateUtf8("😀".repeat(100), 41);
  t.true(Buffer.byteLength(s) <= 41);
  t.false(s.includes("\uFFFD"));
  t.is(truncateUtf8("short", 10), "short");
});

test("describeThrown: constructor name for Errors, 'Error' plus the value for anything else", (t) => {
  class QuotaError extends Error {}
  const e = describeThrown(new QuotaError("over"), [WORKER]);
  t.is(e.type, "QuotaError");
  t.is(e.message, "over");
  t.regex(e.stack, /^Error: over\n/);
  t.deepEqual(describeThrown("boom", []), { type: "Error", message: "boom", stack: "" });
  t.deepEqual(describeThrown({ code: 7 }, []), { type: "Error", message: '{"code":7}', stack: "" });
  t.deepEqual(describeThrown(undefined, []), { type: "Error", message: "undefined", stack: "" });
  t.deepEqual(describeThrown(10n, []), { type: "Error", message: "10", stack: "" });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  t.is(describeThrown(circular, []).message, "[object Object]");
});
