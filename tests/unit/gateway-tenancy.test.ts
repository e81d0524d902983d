// The pure parts of tenancy: key format and checks, bearer parsing, names, and the quota bookkeeping on a fake clock.
import test from "ava";
import { FakeClock } from "../../common/clock.js";
import { bearerToken, newApiKey, parseApiKey, secretMatches } from "../../services/gateway/tenancy/api-keys.js";
import { CONCURRENCY_RETRY_MS, TenantLimiter } from "../../services/gateway/tenancy/tenant-limits.js";
import { qualifiedName, shortName, validateTenantName } from "../../services/gateway/tenancy/tenant-names.js";

test("a new key parses back to its id, and only its own secret matches the stored hash", (t) => {
  const k = newApiKey();
  const parsed = parseApiKey(k.key)!;
  t.is(parsed.keyId, k.keyId);
  t.true(secretMatches(parsed.secret, k.secretHash));
  const other = parseApiKey(newApiKey().key)!;
  t.false(secretMatches(other.secret, k.secretHash));
  t.false(k.secretHash.toString("base64url").includes(parsed.secret), "the secret is not stored");
});

test("malformed keys do not parse", (t) => {
  const k = newApiKey().key;
  for (const bad of ["", "faas_", k.slice(0, -1), `${k}x`, k.replace("faas_", "FAAS_"), `faas_0123456789ABCDEF_${"a".repeat(43)}`, ` ${k}`]) {
    t.is(parseApiKey(bad), undefined, JSON.stringify(bad));
  }
});

test("the bearer token is read from authorization; absent is undefined, another scheme is empty", (t) => {
  t.is(bearerToken(new Headers({ authorization: "Bearer abc" })), "abc");
  t.is(bearerToken(new Headers({ authorization: "bearer  abc " })), "abc");
  t.is(bearerToken(new Headers()), undefined);
  t.is(bearerToken(new Headers({ authorization: "Basic dTpw" })), "");
  t.is(bearerToken(new Headers({ authorization: "Bearer a b" })), "");
});

test("qualified names split back to the short name; tenant names follow their rule", (t) => {
  t.is(qualifiedName("acme", "resize-image"), "acme_resize-image");
  t.is(shortName("acme_resize-image"), "resize-image");
  t.is(validateTenantName("acme-2"), "acme-2");
  for (const bad of ["", "Acme", "a_b", "-a", "a-", "x".repeat(33)]) t.throws(() => validateTenantName(bad), undefined, bad);
});

test("the rate is a token bucket: a burst, then one per 1/rate, with the exact wait as the hint", (t) => {
  const clock = new FakeClock(0);
  const limiter = new TenantLimiter(clock);
  const quota = { maxConcurrent: 100, ratePerSecond: 4, burst: 2 };
  for (let i = 0; i < 2; i++) t.true(limiter.admit("a", quota).admitted);
  const refused = limiter.admit("a", quota);
  t.false(refused.admitted);
  if (!refused.admitted) {
    t.is(refused.retryAfterMs, 250);
    t.regex(refused.reason, /rate of 4/);
  }
  clock.advance(100);
  const sooner = limiter.admit("a", quota);
  t.is(!sooner.admitted && sooner.retryAfterMs, 150, "a refusal takes no token and the hint shrinks");
  clock.advance(150);
  t.true(limiter.admit("a", quota).admitted);
  clock.advance(60_000);
  t.is([0, 1, 2].filter(() => limiter.admit("a", quota).admitted).length, 2, "an idle period refills the bucket to its depth, no more");
  t.true(limiter.admit("b", quota).admitted, "tenants have buckets of their own");
});

test("concurrency: a slot per running invocation, released once, with a short hint when full", (t) => {
  const limiter = new TenantLimiter(new FakeClock(0));
  const quota = { maxConcurrent: 2, ratePerSecond: 1000, burst: 1000 };
  const a = limiter.admit("t", quota);
  const b = limiter.admit("t", quota);
  const c = limiter.admit("t", quota);
  t.true(a.admitted && b.admitted);
  t.false(c.admitted);
  t.is(!c.admitted && c.retryAfterMs, CONCURRENCY_RETRY_MS);
  if (a.admitted) {
    a.release();
    a.release();
  }
  t.is(limiter.running("t"), 1, "a double release frees one slot");
  t.true(limiter.admit("t", quota).admitted);
  t.true(limiter.admitRate("t", quota).admitted, "async acceptance takes a token, not a slot");
  t.is(limiter.running("t"), 2);
});

test("an async attempt takes a slot, not a token, and shares the bound with sync calls", (t) => {
  const limiter = new TenantLimiter(new FakeClock(0));
  const quota = { maxConcurrent: 1, ratePerSecond: 1, burst: 1 };
  t.true(limiter.admitRate("t", quota).admitted, "accepted: the only token");
  const attempt = limiter.admitSlot("t", quota);
  t.true(attempt.admitted, "its attempt runs although no token is left");
  const sync = limiter.admit("t", quota);
  t.false(sync.admitted);
  t.regex(!sync.admitted ? sync.reason : "", /invocations running/);
  t.false(limiter.admitSlot("t", quota).admitted, "a second attempt waits for the slot");
  if (attempt.admitted) attempt.release();
  t.true(limiter.admitSlot("t", quota).admitted);
});
