// Who is calling: the operator (manages tenants) or a tenant (everything else), from the bearer key of
// the call. Unknown, malformed and revoked keys get the same answer, so a probe learns nothing.
import { Code, ConnectError } from "@connectrpc/connect";
import { secretChecker } from "../../../common/secret-check.js";
import { bearerToken, parseApiKey, secretMatches } from "./api-keys.js";
import type { TenantRecord, TenantStore } from "./tenant-store.js";

export type Principal = { readonly kind: "operator" } | { readonly kind: "tenant"; readonly tenant: TenantRecord; readonly keyId: string };

const OPERATOR: Principal = { kind: "operator" };

export class Authenticator {
  readonly #isOperatorKey: (token: string) => boolean;

  constructor(
    private readonly store: TenantStore,
    operatorKey: string,
  ) {
    this.#isOperatorKey = secretChecker(operatorKey);
  }

  /** UNAUTHENTICATED without a valid key. */
  authenticate(headers: Headers): Principal {
    const token = bearerToken(headers);
    if (token === undefined) throw new ConnectError("missing API key: send 'authorization: Bearer <key>'", Code.Unauthenticated);
    const parsed = parseApiKey(token);
    if (parsed) {
      const key = this.store.key(parsed.keyId);
      const tenant = key && this.store.tenant(key.tenant);
      if (key && tenant && secretMatches(parsed.secret, key.secretHash)) return { kind: "tenant", tenant, keyId: key.keyId };
    }
    if (this.#isOperatorKey(token)) return OPERATOR;
    throw new ConnectError("invalid API key", Code.Unauthenticated);
  }

  /** The calling tenant; PERMISSION_DENIED for the operator key, which holds no functions. */
  tenant(headers: Headers): TenantRecord {
    const p = this.authenticate(headers);
    if (p.kind !== "tenant") throw new ConnectError("the operator key manages tenants; call with a tenant's API key", Code.PermissionDenied);
    return p.tenant;
  }

  /** PERMISSION_DENIED unless the caller holds the operator key. */
  operator(headers: Headers): void {
    if (this.authenticate(headers).kind !== "operator") throw new ConnectError("this call needs the operator key", Code.PermissionDenied);
  }
}
