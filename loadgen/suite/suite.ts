// The benchmark suite as data: the real functions under functions/bench/, each with the range of its `work`
// parameter (duration grows roughly linearly with work) and what dominates its time. Memory comes from each
// function's package.json (its faas block), so the directory stays the one source of truth.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** functions/bench of this checkout (this file runs from dist/loadgen/suite/). */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../functions/bench");

export interface BenchFunction {
  /** Deploy name, e.g. "bench-image-resize" (the faas.name in its package.json). */
  readonly name: string;
  /** Absolute path of functions/bench/<dir>. */
  readonly dir: string;
  /** From its package.json faas block. */
  readonly memoryMb: number;
  /** From its package.json faas block. */
  readonly timeoutMs: number;
  /** What dominates: "io" = async waits on real I/O (fs, zlib's thread pool); "cpu" = the JS thread. */
  readonly kind: "cpu" | "io";
  /** The invocation parameters: tiny, the function generates its inputs from the seed. */
  payload(work: number, seed?: number): Record<string, unknown>;
  /** The sensible range of `work` (the function refuses more than max: its memory limit). */
  readonly work: { readonly min: number; readonly max: number };
}

interface Entry {
  readonly dir: string;
  readonly kind: "cpu" | "io";
  readonly min: number;
  readonly max: number;
}

// Ranges keep the peak RSS well inside each function's memory limit (measured with the heap limit the sidecar
// sets) and the longest run far below its 60 s timeout.
const ENTRIES: readonly Entry[] = [
  { dir: "image-resize", kind: "cpu", min: 0.05, max: 12 }, // megapixels
  { dir: "image-thumbnail", kind: "cpu", min: 0.05, max: 32 }, // megapixels
  { dir: "gzip-compress", kind: "cpu", min: 0.05, max: 8 }, // MB of text
  { dir: "zip-archive", kind: "cpu", min: 0.05, max: 16 }, // MB of files
  { dir: "csv-transform", kind: "cpu", min: 0.02, max: 12 }, // x10k rows
  { dir: "json-transform", kind: "cpu", min: 0.02, max: 16 }, // x10k orders
  { dir: "markdown-render", kind: "cpu", min: 0.1, max: 40 }, // x100 sections
  { dir: "template-render", kind: "cpu", min: 0.1, max: 100 }, // x1000 line items
  { dir: "schema-validate", kind: "cpu", min: 0.05, max: 150 }, // x5000 records
  { dir: "hash-chain", kind: "cpu", min: 0.01, max: 60 }, // x100k links
  { dir: "xml-parse", kind: "cpu", min: 0.02, max: 5 }, // x5000 books
  { dir: "matrix-kernel", kind: "cpu", min: 0.05, max: 120 }, // n = 200*cbrt(work)
  { dir: "yaml-convert", kind: "cpu", min: 0.05, max: 60 }, // x500 services
  // x4 MB through fs + zlib streams; at most 16 MB, so that its three files fit the 64 MB /tmp of a container.
  { dir: "file-stream", kind: "io", min: 0.02, max: 4 },
];

interface PackageJson {
  readonly dependencies?: Record<string, string>;
  readonly faas?: { readonly name?: string; readonly memoryMb?: number; readonly timeoutMs?: number };
}

export function readBenchPackage(dir: string): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as PackageJson;
}

function benchFunction(e: Entry): BenchFunction {
  const dir = path.join(BENCH_DIR, e.dir);
  const pkg = readBenchPackage(dir);
  const { memoryMb, timeoutMs } = pkg.faas ?? {};
  if (!memoryMb || !timeoutMs) throw new Error(`${dir}/package.json needs faas.memoryMb and faas.timeoutMs`);
  const work = Object.freeze({ min: e.min, max: e.max });
  return Object.freeze({
    name: pkg.faas?.name ?? `bench-${e.dir}`,
    dir,
    memoryMb,
    timeoutMs,
    kind: e.kind,
    work,
    payload: (w: number, seed = 1) => ({ work: Number(w.toPrecision(6)), seed }),
  });
}

export const SUITE: readonly BenchFunction[] = Object.freeze(ENTRIES.map(benchFunction));
