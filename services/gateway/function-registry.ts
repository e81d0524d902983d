// The deployed functions, persisted in a SQLite file (spec and code as protobuf bytes) and mirrored in
// memory: every invocation looks its function up, so the hot path never touches the disk.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type Database from "better-sqlite3";
import { openSqliteFile } from "../../common/sqlite-file.js";
import { FunctionCodeSchema, FunctionSpecSchema, type FunctionCode, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";

export class FunctionRegistry {
  readonly #db: Database.Database;
  readonly #specs = new Map<string, FunctionSpec>();
  readonly #put: Database.Statement<[string, Buffer, Buffer, number]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #code: Database.Statement<[string], { code: Buffer }>;

  /** file: a path (its directory is created) or ":memory:". */
  constructor(file: string) {
    this.#db = openSqliteFile(file);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS functions (
      name TEXT PRIMARY KEY,
      spec BLOB NOT NULL,
      code BLOB NOT NULL,
      updated_at_unix_ms INTEGER NOT NULL
    )`);
    this.#put = this.#db.prepare("INSERT OR REPLACE INTO functions (name, spec, code, updated_at_unix_ms) VALUES (?, ?, ?, ?)");
    this.#delete = this.#db.prepare("DELETE FROM functions WHERE name = ?");
    this.#code = this.#db.prepare("SELECT code FROM functions WHERE name = ?");
    for (const row of this.#db.prepare("SELECT spec FROM functions").iterate() as Iterable<{ spec: Buffer }>) {
      const spec = fromBinary(FunctionSpecSchema, row.spec);
      this.#specs.set(spec.name, spec);
    }
  }

  get(name: string): FunctionSpec | undefined {
    return this.#specs.get(name);
  }

  list(): FunctionSpec[] {
    return [...this.#specs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  code(name: string): FunctionCode | undefined {
    const row = this.#code.get(name);
    return row ? fromBinary(FunctionCodeSchema, row.code) : undefined;
  }

  put(spec: FunctionSpec, code: FunctionCode): void {
    this.#put.run(spec.name, Buffer.from(toBinary(FunctionSpecSchema, spec)), Buffer.from(toBinary(FunctionCodeSchema, code)), Date.now());
    this.#specs.set(spec.name, spec);
  }

  delete(name: string): boolean {
    this.#delete.run(name);
    return this.#specs.delete(name);
  }

  close(): void {
    this.#db.close();
  }
}
