// gRPC/Connect handlers of faas.gateway.v1.AdminService: the operator's calls on tenants, keys and quotas.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { nowUnixUs } from "../../common/clock.js";
import { bind } from "../../common/server.js";
import { AdminService, ApiKeyInfoSchema, QuotaSchema, TenantSchema, type Quota } from "../../gen/faas/gateway/v1/admin_pb.js";
import type { DeadLetterHandlers } from "./async/dead-letter-handlers.js";
import type { FunctionRegistry } from "./function-registry.js";
import { checked } from "./function-validation.js";
import { newApiKey } from "./tenancy/api-keys.js";
import type { Authenticator } from "./tenancy/authenticator.js";
import { validateTenantName } from "./tenancy/tenant-names.js";
import type { ApiKeyRecord, QuotaValues, TenantRecord, TenantStore } from "./tenancy/tenant-store.js";

export interface AdminParts {
  readonly auth: Authenticator;
  readonly tenants: TenantStore;
  readonly registry: FunctionRegistry;
  /** What a zero in a requested quota resolves to. */
  readonly defaultQuota: QuotaValues;
  /** ListDeadLetters and ReplayDeadLetter (async/dead-letter-handlers.ts): dead-lettered async invocations. */
  readonly deadLetters?: DeadLetterHandlers;
}

/** Bound on each quota figure: large enough to mean "no limit" on any one gateway. */
export const MAX_QUOTA_VALUE = 10_000_000;

export function adminService(p: AdminParts) {
  const tenantNamed = (name: string, field: string): TenantRecord => {
    const t = p.tenants.tenant(checked(() => validateTenantName(name, field)));
    if (!t) throw new ConnectError(`tenant ${name} not found`, Code.NotFound);
    return t;
  };
  const resolveQuota = (q: Quota | undefined): QuotaValues => {
    const value = (field: keyof QuotaValues, v: number | undefined, fallback: number) => {
      if (v === undefined || v === 0) return fallback;
      if (v > MAX_QUOTA_VALUE) throw new ConnectError(`quota.${field} must be at most ${MAX_QUOTA_VALUE}`, Code.InvalidArgument);
      return v;
    };
    const ratePerSecond = value("ratePerSecond", q?.ratePerSecond, p.defaultQuota.ratePerSecond);
    return {
      maxConcurrent: value("maxConcurrent", q?.maxConcurrent, p.defaultQuota.maxConcurrent),
      ratePerSecond,
      burst: value("burst", q?.burst, q?.ratePerSecond ? ratePerSecond : p.defaultQuota.burst),
    };
  };

  return bind(AdminService, {
    ...p.deadLetters,
    createTenant(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      const name = checked(() => validateTenantName(req.name));
      const tenant: TenantRecord = { name, quota: resolveQuota(req.quota), createdAtUnixUs: nowUnixUs() };
      if (!p.tenants.addTenant(tenant)) throw new ConnectError(`tenant ${name} already exists`, Code.AlreadyExists);
      return { tenant: tenantMessage(tenant) };
    },
    listTenants(_req, ctx) {
      p.auth.operator(ctx.requestHeader);
      return { tenants: p.tenants.tenants().map(tenantMessage) };
    },
    setQuota(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      const t = tenantNamed(req.tenant, "tenant");
      return { tenant: tenantMessage(p.tenants.setQuota(t.name, resolveQuota(req.quota))!) };
    },
    deleteTenant(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      const t = tenantNamed(req.name, "name");
      const held = p.registry.list().filter((f) => f.tenant === t.name).length;
      if (held > 0) throw new ConnectError(`tenant ${t.name} still has ${held} functions; delete them first`, Code.FailedPrecondition);
      p.tenants.deleteTenant(t.name);
      return {};
    },
    createApiKey(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      const t = tenantNamed(req.tenant, "tenant");
      if (req.description.length > 200) throw new ConnectError("description must have at most 200 characters", Code.InvalidArgument);
      const fresh = newApiKey();
      const record: ApiKeyRecord = { keyId: fresh.keyId, tenant: t.name, description: req.description, secretHash: fresh.secretHash, createdAtUnixUs: nowUnixUs() };
      p.tenants.addKey(record);
      return { apiKey: fresh.key, info: keyMessage(record) };
    },
    listApiKeys(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      if (req.tenant) tenantNamed(req.tenant, "tenant");
      return { keys: p.tenants.keys(req.tenant || undefined).map(keyMessage) };
    },
    revokeApiKey(req, ctx) {
      p.auth.operator(ctx.requestHeader);
      if (!p.tenants.revokeKey(req.keyId)) throw new ConnectError(`API key ${req.keyId.slice(0, 40)} not found`, Code.NotFound);
      return {};
    },
  });
}

function tenantMessage(t: TenantRecord) {
  return create(TenantSchema, { name: t.name, quota: create(QuotaSchema, t.quota), createdAtUnixUs: t.createdAtUnixUs });
}

function keyMessage(k: ApiKeyRecord) {
  return create(ApiKeyInfoSchema, { keyId: k.keyId, tenant: k.tenant, description: k.description, createdAtUnixUs: k.createdAtUnixUs });
}
