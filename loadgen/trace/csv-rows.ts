// Streams a header-checked CSV file row by row (readline over a read stream: trace files run to hundreds
// of MB). The Azure traces are plain comma-separated cells without quoting. Every deviation from the
// expected shape is a TraceFormatError; nothing is skipped.
import * as fs from "node:fs";
import * as readline from "node:readline";
import { parseCount, parseNonNegativeDecimal } from "./numeric-cells.js";
import { TraceFormatError } from "./trace-format-error.js";

/** One data row; its accessors take 0-based indices and report 1-based columns. */
export class CsvRow {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly cells: readonly string[],
    private readonly header: readonly string[],
  ) {}

  /** A non-empty text cell (ids, trigger names). */
  text(index: number): string {
    const cell = this.cells[index];
    if (cell === "") throw this.error(index, `expected a non-empty value in column ${this.where(index)}, got ""`);
    return cell;
  }

  /** A non-negative integer at most `max`. */
  count(index: number, label?: string, max = Number.MAX_SAFE_INTEGER): number {
    const value = parseCount(this.cells[index]);
    if (value === undefined || value > max) {
      const bound = value === undefined ? "" : ` at most ${max}`;
      throw this.error(index, `expected a non-negative integer${bound} in column ${this.where(index, label)}, got ${JSON.stringify(this.cells[index])}`);
    }
    return value;
  }

  /** A finite non-negative decimal number. */
  decimal(index: number, label?: string): number {
    const value = parseNonNegativeDecimal(this.cells[index]);
    if (value === undefined) {
      throw this.error(index, `expected a non-negative number in column ${this.where(index, label)}, got ${JSON.stringify(this.cells[index])}`);
    }
    return value;
  }

  /** Like decimal, but an empty cell is a documented "not recorded" and gives undefined. */
  optionalDecimal(index: number, label?: string): number | undefined {
    return this.cells[index] === "" ? undefined : this.decimal(index, label);
  }

  error(index: number | undefined, detail: string): TraceFormatError {
    return new TraceFormatError(this.file, this.line, index === undefined ? undefined : index + 1, detail);
  }

  private where(index: number, label = this.header[index]): string {
    return `${index + 1} (${label})`;
  }
}

/**
 * Reads `file`, checks that its first line is exactly `header`, and hands every following line to
 * `onRow` in order. CRLF and a missing final newline are accepted; an empty file, a blank line or a row
 * with the wrong number of fields is not. Resolves to the number of data rows.
 */
export async function readCsvRows(
  file: string,
  header: readonly string[],
  onRow: (row: CsvRow) => void,
): Promise<number> {
  const input = fs.createReadStream(file, { encoding: "utf8" });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (line === 1) {
        checkHeader(file, text.replace(/^\uFEFF/, ""), header);
        continue;
      }
      const cells = text.split(",");
      if (cells.length !== header.length) throw fieldCountError(file, line, text, cells.length, header);
      onRow(new CsvRow(file, line, cells, header));
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (line === 0) throw new TraceFormatError(file, 1, undefined, `empty file: expected the header "${header.join(",")}"`);
  return line - 1;
}

function checkHeader(file: string, text: string, header: readonly string[]): void {
  const names = text.split(",");
  for (let i = 0; i < Math.max(names.length, header.length); i++) {
    if (names[i] === header[i]) continue;
    const detail =
      i >= header.length
        ? `expected the header to end after column ${header.length} ("${header[header.length - 1]}"), got "${names[i]}"`
        : `expected header "${header[i]}" in column ${i + 1}, got ${i < names.length ? JSON.stringify(names[i]) : "the end of the line"}`;
    throw new TraceFormatError(file, 1, i + 1, detail);
  }
}

function fieldCountError(file: string, line: number, text: string, got: number, header: readonly string[]): TraceFormatError {
  if (text === "") return new TraceFormatError(file, line, undefined, `expected ${header.length} fields, got an empty line`);
  if (got < header.length) {
    return new TraceFormatError(
      file,
      line,
      got + 1,
      `expected ${header.length} fields, got ${got} (truncated row: column ${got + 1} "${header[got]}" is missing)`,
    );
  }
  return new TraceFormatError(file, line, header.length + 1, `expected ${header.length} fields, got ${got}`);
}
