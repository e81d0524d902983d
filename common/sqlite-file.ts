// Opening a service's SQLite file: its directory created, WAL mode (readers never block the writer).
// ":memory:" gives a private in-memory database.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";

export function openSqliteFile(file: string): Database.Database {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
