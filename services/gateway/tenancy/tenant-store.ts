// Tenants and their API keys (hashes only), persisted in the gateway's SQLite file and mirrored in memory:
// every call authenticates, so the hot path never touches the disk.
import type Database from "better-sqlite3";
import { openSqliteFile } from "../../../common/sqlite-file.js";

export interface QuotaValues {
  readonly maxConcurrent: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface TenantRecord {
  readonly name: string;
  quota: QuotaValues;
  readonly createdAtUnixUs: bigint;
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly tenant: string;
  readonly description: string;
  readonly secretHash: Buffer;
  readonly createdAtUnixUs: bigint;
}

export class TenantStore {
  readonly #db: Database.Database;
  readonly #tenants = new Map<string, TenantRecord>();
  readonly #keys = new Map<string, ApiKeyRecord>();

  /** file: a path (its directory is created) or ":memory:". */
  constructor(file: string) {
    this.#db = openSqliteFile(file);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS tenants (
        name TEXT PRIMARY KEY,
        max_concurrent INTEGER NOT NULL,
        rate_per_second INTEGER NOT NULL,
        burst INTEGER NOT NULL,
        created_at_unix_us INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants(name),
        description TEXT NOT NULL,
        secret_sha256 BLOB NOT NULL,
        created_at_unix_us INTEGER NOT NULL
      );`);
    this.#db.defaultSafeIntegers(true);
    for (const r of this.#db.prepare("SELECT * FROM tenants").all() as Array<Record<string, bigint | string>>) {
      const t: TenantRecord = {
        name: r.name as string,
        quota: { maxConcurrent: Number(r.max_concurrent), ratePerSecond: Number(r.rate_per_second), burst: Number(r.burst) },
        createdAtUnixUs: r.created_at_unix_us as bigint,
      };
      this.#tenants.set(t.name, t);
    }
    for (const r of this.#db.prepare("SELECT * FROM api_keys").all() as Array<Record<string, bigint | string | Buffer>>) {
      this.#keys.set(r.key_id as string, {
        keyId: r.key_id as string,
        tenant: r.tenant as string,
        description: r.description as string,
        secretHash: r.secret_sha256 as Buffer,
        createdAtUnixUs: r.created_at_unix_us as bigint,
      });
    }
  }

  tenant(name: string): TenantRecord | undefined {
    return this.#tenants.get(name);
  }

  tenants(): TenantRecord[] {
    return [...this.#tenants.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** false when the tenant exists already. */
  addTenant(t: TenantRecord): boolean {
    if (this.#tenants.has(t.name)) return false;
    this.#db
      .prepare("INSERT INTO tenants (name, max_concurrent, rate_per_second, burst, created_at_unix_us) VALUES (?, ?, ?, ?, ?)")
      .run(t.name, t.quota.maxConcurrent, t.quota.ratePerSecond, t.quota.burst, t.createdAtUnixUs);
    this.#tenants.set(t.name, t);
    return true;
  }

  setQuota(name: string, quota: QuotaValues): TenantRecord | undefined {
    const t = this.#tenants.get(name);
    if (!t) return undefined;
    this.#db.prepare("UPDATE tenants SET max_concurrent = ?, rate_per_second = ?, burst = ? WHERE name = ?").run(quota.maxConcurrent, quota.ratePerSecond, quota.burst, name);
    t.quota = quota;
    return t;
  }

  /** Removes the tenant and its keys. */
  deleteTenant(name: string): boolean {
    if (!this.#tenants.has(name)) return false;
    this.#db.transaction(() => {
      this.#db.prepare("DELETE FROM api_keys WHERE tenant = ?").run(name);
      this.#db.prepare("DELETE FROM tenants WHERE name = ?").run(name);
    })();
    for (const k of [...this.#keys.values()]) if (k.tenant === name) this.#keys.delete(k.keyId);
    this.#tenants.delete(name);
    return true;
  }

  key(keyId: string): ApiKeyRecord | undefined {
    return this.#keys.get(keyId);
  }

  keys(tenant?: string): ApiKeyRecord[] {
    return [...this.#keys.values()].filter((k) => !tenant || k.tenant === tenant).sort((a, b) => (a.createdAtUnixUs < b.createdAtUnixUs ? -1 : 1));
  }

  addKey(k: ApiKeyRecord): void {
    this.#db
      .prepare("INSERT INTO api_keys (key_id, tenant, description, secret_sha256, created_at_unix_us) VALUES (?, ?, ?, ?, ?)")
      .run(k.keyId, k.tenant, k.description, k.secretHash, k.createdAtUnixUs);
    this.#keys.set(k.keyId, k);
  }

  revokeKey(keyId: string): boolean {
    if (!this.#keys.has(keyId)) return false;
    this.#db.prepare("DELETE FROM api_keys WHERE key_id = ?").run(keyId);
    this.#keys.delete(keyId);
    return true;
  }

  close(): void {
    this.#db.close();
  }
}
