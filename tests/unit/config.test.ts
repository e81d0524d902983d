import test from "ava";
import { bool, ConfigError, int, loadConfig, num, oneOf, port, str } from "../../common/config.js";
import { checkInternalBinding } from "../../common/internal-auth.js";
import { secretChecker } from "../../common/secret-check.js";

const schema = {
  name: str("NAME", "x", "a name"),
  count: int("COUNT", 3, "a count", { min: 1, max: 10 }),
  ratio: num("RATIO", 0.5, "a ratio", { min: 0, max: 1 }),
  port: port("PORT", 80, "a port"),
  on: bool("ON", false, "a switch"),
  mode: oneOf("MODE", "a", ["a", "b"] as const, "a mode"),
  must: str("MUST", undefined, "required"),
};

test("defaults apply to unset and empty variables; values are parsed", (t) => {
  const c = loadConfig(schema, { MUST: "yes", COUNT: "", RATIO: "0.25", ON: "true", MODE: "b" });
  t.deepEqual({ ...c }, { name: "x", count: 3, ratio: 0.25, port: 80, on: true, mode: "b", must: "yes" });
});

test("every bad variable is named in one error", (t) => {
  const err = t.throws(() => loadConfig(schema, { COUNT: "11", RATIO: "x", PORT: "70000", ON: "maybe", MODE: "c" }), { instanceOf: ConfigError }) as ConfigError;
  t.is(err.problems.length, 6);
  for (const v of ["COUNT", "RATIO", "PORT", "ON", "MODE", "MUST"]) t.true(err.problems.some((p) => p.startsWith(v)), v);
});

test("a service bound beyond loopback refuses to start without an internal secret", (t) => {
  t.notThrows(() => checkInternalBinding("BALANCER_HOST", "127.0.0.1", ""));
  t.notThrows(() => checkInternalBinding("BALANCER_HOST", "::1", ""));
  t.throws(() => checkInternalBinding("BALANCER_HOST", "0.0.0.0", ""), { instanceOf: ConfigError, message: /BALANCER_HOST=0\.0\.0\.0.*FAAS_INTERNAL_SECRET/ });
  t.throws(() => checkInternalBinding("BALANCER_HOST", "127.0.0.1", "short"), { instanceOf: ConfigError, message: /at least 16/ });
  t.notThrows(() => checkInternalBinding("BALANCER_HOST", "0.0.0.0", "a-long-enough-secret"));
  const check = secretChecker("a-long-enough-secret");
  t.true(check("a-long-enough-secret"));
  t.false(check("a-long-enough-secreT"));
  t.false(check(undefined));
  t.false(check(["a-long-enough-secret"]));
});
