import test from "ava";
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import { azure2019DayFiles, joinAzure2019Day, readAzure2019Day } from "../../loadgen/trace/azure2019-day.js";
import { readFunctionDurations } from "../../loadgen/trace/azure2019-durations.js";
import { INVOCATIONS_HEADER, readInvocationsPerFunction } from "../../loadgen/trace/azure2019-invocations.js";
import { readAppMemory } from "../../loadgen/trace/azure2019-memory.js";
import { readAzure2021Invocations } from "../../loadgen/trace/azure2021-invocations.js";
import { readDailySummary } from "../../loadgen/trace/daily-summary.js";
import { TraceFormatError } from "../../loadgen/trace/trace-format-error.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = path.join(REPO, "tests/fixtures/traces");
const fixture = (name: string) => path.join(FIXTURES, name);
const BUNDLED = "/work/shared/traces/azure2019-d07-functions.csv";

async function formatError(t: { fail: (m: string) => void }, read: () => Promise<unknown>): Promise<TraceFormatError> {
  try {
    await read();
  } catch (error) {
    if (error instanceof TraceFormatError) return error;
    throw error;
  }
  t.fail("expected a TraceFormatError");
  throw new Error("unreachable");
}

test("per-minute counts: 1440 minutes per function, minute 1 at index 0", async (t) => {
  const rows = await readInvocationsPerFunction(fixture("azure2019/invocations_per_function_md.anon.d01.csv"));
  t.is(rows.length, 5);
  const f2 = rows[1];
  t.like(f2, { owner: "owner1", app: "app1", function: "func2", trigger: "http", line: 3 });
  t.is(f2.perMinute.length, 1440);
  t.is(f2.perMinute[0], 3);
  t.is(f2.perMinute[60], 5);
  t.is(f2.perMinute.reduce((s, c) => s + c, 0), 8);
  t.is(rows[0].perMinute.reduce((s, c) => s + c, 0), 1440);
});

test("durations (CRLF file) and memory (no final newline) read as published", async (t) => {
  const durations = await readFunctionDurations(fixture("azure2019/function_durations_percentiles.anon.d01.csv"));
  t.is(durations.length, 5);
  t.like(durations[0], { function: "func1", averageMs: 60000, count: 1440, minimumMs: 59000, maximumMs: 61000 });
  t.deepEqual(durations[0].percentilesMs, { p0: 59000, p1: 59100, p25: 59800, p50: 60000, p75: 60200, p99: 60900, p100: 61000 });
  // Empty Minimum/Maximum: documented as "not recorded" in the dataset, kept as undefined.
  t.like(durations[1], { function: "func2", averageMs: 250.5, minimumMs: undefined, maximumMs: undefined });
  const memory = await readAppMemory(fixture("azure2019/app_memory_percentiles.anon.d01.csv"));
  t.is(memory.length, 3);
  t.like(memory[2], { owner: "owner3", app: "app3", sampleCount: 10, averageMb: 64, line: 4 });
  t.is(memory[0].percentilesMb.p95, 150);
});

test("a day joins the three files; a function without durations is listed in missing with a reason", async (t) => {
  const day = await readAzure2019Day(fixture("azure2019"), "d01");
  t.deepEqual(
    day.functions.map((f) => f.function),
    ["func1", "func2", "func3", "func5"],
  );
  t.deepEqual(day.missing, [
    { owner: "owner3", app: "app3", function: "func4", line: 5, reason: "no row in function_durations_percentiles.anon.d01.csv" },
  ]);
  t.deepEqual(day.duplicates, []);
  t.is(day.durationsWithoutInvocations, 1);
  t.is(day.functionsWithoutMemory, 1); // func5's app4 has no memory row
  const func3 = day.functions[2];
  t.is(func3.durations.averageMs, 12);
  t.is(func3.memory?.averageMb, 256);
  t.is(day.functions[3].memory, undefined);
});

test("day names are checked; d13 and d14 have no memory file", async (t) => {
  t.is(azure2019DayFiles("/x", "d13").memory, undefined);
  t.is(azure2019DayFiles("/x", "d12").memory, "/x/app_memory_percentiles.anon.d12.csv");
  t.throws(() => azure2019DayFiles("/x", "d15"), { message: /d01\.\.d14/ });
  t.throws(() => azure2019DayFiles("/x", "7"), { message: /d01\.\.d14/ });
  await t.throwsAsync(readAzure2019Day(fixture("azure2019"), "d02"), { message: /invocations_per_function_md\.anon\.d02\.csv: not found/ });
});

test("2021 trace: id is app/func, start = end - duration, trace start is the earliest start", async (t) => {
  const trace = await readAzure2021Invocations(fixture("azure2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"));
  t.is(trace.invocations, 6);
  t.is(trace.firstStartS, 100);
  t.is(trace.lastStartS, 180);
  const byId = new Map(trace.functions.map((f) => [f.id, f]));
  t.deepEqual([...byId.keys()], ["appA/f1", "appB/f1", "appA/f2"]);
  t.deepEqual([...byId.get("appA/f1")!.startsS], [104, 110, 160]); // sorted, though the file is not
  t.deepEqual([...byId.get("appB/f1")!.startsS], [100, 180]);
  t.is(byId.get("appB/f1")!.averageDurationS, 5.125);
  t.like(byId.get("appA/f2")!, { app: "appA", func: "f2", averageDurationS: 40 });
});

test("the bundled d07 summary: 20,284 functions, ~25.6 M invocations", async (t) => {
  const rows = await readDailySummary(BUNDLED);
  t.is(rows.length, 20284);
  t.is(rows.reduce((s, r) => s + r.count, 0), 25_594_299);
  t.like(rows[0], { function: "bed38fd93e3220ad765dc2105031cc27e69c7a73bf4448a024cbaa35a1e11ae8", averageMs: 219, count: 98777, line: 2 });
});

const malformed: Array<[string, (file: string) => Promise<unknown>, number, number | undefined, RegExp]> = [
  ["invocations-wrong-header.csv", readInvocationsPerFunction, 1, 5, /expected header "1" in column 5, got "0"/],
  ["invocations-truncated.csv", readInvocationsPerFunction, 3, 18, /expected 1444 fields, got 17 \(truncated row: column 18 "14" is missing\)/],
  ["invocations-non-numeric.csv", readInvocationsPerFunction, 3, 17, /expected a non-negative integer in column 17 \(minute 13\), got "x"/],
  ["invocations-negative.csv", readInvocationsPerFunction, 2, 6, /expected a non-negative integer in column 6 \(minute 2\), got "-3"/],
  ["durations-non-numeric.csv", readFunctionDurations, 3, 4, /expected a non-negative number in column 4 \(Average\), got "abc"/],
  ["memory-too-many-fields.csv", readAppMemory, 2, 13, /expected 12 fields, got 13/],
  ["daily-summary-empty.csv", readDailySummary, 1, undefined, /empty file: expected the header "HashFunction,Average,Count"/],
  ["daily-summary-blank-line.csv", readDailySummary, 3, undefined, /expected 3 fields, got an empty line/],
  ["daily-summary-duplicate.csv", readDailySummary, 4, 1, /expected a unique HashFunction, got "fa" again \(first on line 2\)/],
  ["azure2021-negative-duration.txt", readAzure2021Invocations, 3, 4, /expected a non-negative number in column 4 \(duration\), got "-0.5"/],
  ["azure2021-header-only.txt", readAzure2021Invocations, 2, undefined, /expected at least one invocation/],
];

for (const [name, read, line, column, detail] of malformed) {
  test(`malformed ${name}: error names file, line ${line}, column ${column ?? "-"}`, async (t) => {
    const file = fixture(`malformed/${name}`);
    const error = await formatError(t, () => read(file));
    t.like(error, { file, line, column });
    t.regex(error.message, detail);
    t.true(error.message.startsWith(`${file}: line ${line}${column === undefined ? ":" : `, column ${column}:`}`), error.message);
  });
}

test("the wrong reader for a file fails on its header, not later", async (t) => {
  const file = fixture("azure2019/app_memory_percentiles.anon.d01.csv");
  const error = await formatError(t, () => readFunctionDurations(file));
  t.like(error, { line: 1, column: 3 });
  t.regex(error.message, /expected header "HashFunction" in column 3, got "SampleCount"/);
});

test("a missing file is an ordinary ENOENT error", async (t) => {
  await t.throwsAsync(readDailySummary(fixture("no-such-file.csv")), { code: "ENOENT" });
});

test("a per-minute count must fit 32 bits and be a plain integer", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loadgen-trace-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const row = (cell: string) => ["o", "a", "f", "http", cell, ...new Array(1439).fill("0")].join(",");
  const file = path.join(dir, "invocations.csv");
  fs.writeFileSync(file, `${INVOCATIONS_HEADER.join(",")}\n${row("4294967296")}\n`);
  t.regex((await formatError(t, () => readInvocationsPerFunction(file))).message, /line 2, column 5: expected a non-negative integer at most 4294967295 in column 5 \(minute 1\), got "4294967296"/);
  fs.writeFileSync(file, `${INVOCATIONS_HEADER.join(",")}\n${row("1.5")}\n`);
  t.regex((await formatError(t, () => readInvocationsPerFunction(file))).message, /got "1.5"/);
});

test("the day join keeps the first of repeated keys and lists the others", (t) => {
  const files = { invocations: "inv.csv", durations: "dur.csv", memory: "mem.csv" };
  const counts = [1, 2].map((line) => ({ owner: "o", app: "a", function: "f", trigger: "http", perMinute: new Uint32Array(1440), line }));
  const duration = { owner: "o", app: "a", function: "f", averageMs: 1, count: 1, minimumMs: 1, maximumMs: 1, percentilesMs: { p0: 1, p1: 1, p25: 1, p50: 1, p75: 1, p99: 1, p100: 1 } };
  const memory = { owner: "o", app: "a", sampleCount: 1, averageMb: 1, percentilesMb: { p1: 1, p5: 1, p25: 1, p50: 1, p75: 1, p95: 1, p99: 1, p100: 1 } };
  const joined = joinAzure2019Day(files, counts, [{ ...duration, line: 7 }, { ...duration, line: 9 }], [{ ...memory, line: 3 }, { ...memory, line: 4 }]);
  t.is(joined.functions.length, 1);
  t.is(joined.functions[0].line, 1);
  t.is(joined.functions[0].durations.line, 7);
  t.deepEqual(joined.duplicates, [
    { file: "dur.csv", line: 9, firstLine: 7, key: "o/a/f" },
    { file: "mem.csv", line: 4, firstLine: 3, key: "o/a" },
    { file: "inv.csv", line: 2, firstLine: 1, key: "o/a/f" },
  ]);
});
