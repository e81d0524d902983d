// The one error every trace reader throws for a file that is not in the published format: it names the
// file, the 1-based line and (when one field is at fault) the 1-based column, so a bad cell in a
// hundreds-of-MB trace can be found with `sed -n LINEp`.

export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";

  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}: line ${line}${column === undefined ? "" : `, column ${column}`}: ${detail}`);
  }
}
