import test from "ava";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { heapLimitMb, judgeDeath, mentionsHeapExhaustion, type WorkerDeath } from "../../sidecar/worker-exit.js";

const death = (d: Partial<WorkerDeath>): WorkerDeath => ({
  code: null,
  signal: null,
  stderrReportedHeapOom: false,
  oomKillsAtSpawn: 0,
  oomKillsAtExit: 0,
  killedBy: undefined,
  crash: undefined,
  memoryMb: 128,
  heapLimitMb: 96,
  ...d,
});

test("V8 heap exhaustion (abort with its report on stderr) is OUT_OF_MEMORY", (t) => {
  t.true(mentionsHeapExhaustion("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"));
  const v = judgeDeath(death({ signal: "SIGABRT", stderrReportedHeapOom: true }));
  t.is(v.status, InvocationStatus.OUT_OF_MEMORY);
  t.is(v.error.type, "OutOfMemory");
  t.regex(v.error.message, /JavaScript heap \(limit 96 MB of the function's 128 MB\)/);
  t.is(judgeDeath(death({ code: 134, stderrReportedHeapOom: true })).status, InvocationStatus.OUT_OF_MEMORY);
  // The function printing the phrase and exiting normally is not an OOM.
  t.is(judgeDeath(death({ code: 3, stderrReportedHeapOom: true })).status, InvocationStatus.EXITED);
});

test("a SIGKILL nobody sent while the cgroup oom_kill count rose is OUT_OF_MEMORY", (t) => {
  const v = judgeDeath(death({ signal: "SIGKILL", oomKillsAtSpawn: 2, oomKillsAtExit: 3 }));
  t.is(v.status, InvocationStatus.OUT_OF_MEMORY);
  t.regex(v.error.message, /memory limit of 128 MB/);
  t.is(judgeDeath(death({ signal: "SIGKILL", oomKillsAtSpawn: 3, oomKillsAtExit: 3 })).status, InvocationStatus.EXITED);
  // Without readable cgroup files it is only a kill.
  const unknown = judgeDeath(death({ signal: "SIGKILL", oomKillsAtSpawn: undefined, oomKillsAtExit: undefined }));
  t.is(unknown.status, InvocationStatus.EXITED);
  t.regex(unknown.error.message, /signal SIGKILL/);
});

test("siblings of a timed-out invocation are EXITED, naming it", (t) => {
  const v = judgeDeath(death({ signal: "SIGKILL", killedBy: { kind: "timeout", invocationId: "inv-9", limitMs: 500 }, oomKillsAtExit: 5 }));
  t.is(v.status, InvocationStatus.EXITED);
  t.is(v.error.type, "Exited");
  t.regex(v.error.message, /inv-9.*timed out after 500 ms/);
});

test("exit codes, signals and reported crashes", (t) => {
  t.regex(judgeDeath(death({ code: 3 })).error.message, /exited with code 3/);
  t.regex(judgeDeath(death({ signal: "SIGSEGV" })).error.message, /killed by signal SIGSEGV/);
  const crashed = judgeDeath(death({ code: 1, crash: { type: "RangeError", message: "async boom", stack: "RangeError: async boom\n    at x (/fn/a.js:1:1)" } }));
  t.is(crashed.status, InvocationStatus.EXITED);
  t.regex(crashed.error.message, /uncaught RangeError: async boom/);
  t.regex(crashed.error.stack, /\/fn\/a\.js/);
});

test("the worker heap gets 75% of the memory, at least 16 MB", (t) => {
  t.is(heapLimitMb(128), 96);
  t.is(heapLimitMb(256), 192);
  t.is(heapLimitMb(16), 16);
});
