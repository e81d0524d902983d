// schema-validate: validates `work`x5000 seeded user records (about 10% deliberately invalid) against a JSON Schema
// with formats (ajv + ajv-formats). The schema is compiled once per container.
const { createHash } = require("node:crypto");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

// Seeded PRNG (mulberry32): the inputs are generated here, so payloads stay tiny and results are checkable.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function args(params, maxWork) {
  const work = Number(params.work ?? 1);
  if (!Number.isFinite(work) || work <= 0) throw new TypeError("params.work must be a positive number");
  if (work > maxWork) throw new RangeError(`params.work must be at most ${maxWork}`);
  const seed = Number.isInteger(params.seed) ? params.seed : 1;
  return { work, seed, random: rng(seed) };
}
const checksum = (data) => createHash("sha256").update(data).digest("hex").slice(0, 16);

const ajv = new Ajv({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile({
  type: "object",
  required: ["id", "email", "name", "createdAt", "roles", "address"],
  additionalProperties: false,
  properties: {
    id: { type: "string", format: "uuid" },
    email: { type: "string", format: "email" },
    name: { type: "string", minLength: 1, maxLength: 80 },
    age: { type: "integer", minimum: 0, maximum: 150 },
    createdAt: { type: "string", format: "date-time" },
    homepage: { type: "string", format: "uri" },
    roles: { type: "array", items: { enum: ["admin", "editor", "viewer", "billing"] }, minItems: 1, uniqueItems: true },
    address: {
      type: "object",
      required: ["street", "city", "zip", "country"],
      properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: "string", pattern: "^[0-9]{5}$" }, country: { type: "string", minLength: 2, maxLength: 2 } },
    },
  },
});

const hex = (random, n) => Array.from({ length: n }, () => ((random() * 16) | 0).toString(16)).join("");
function user(i, random) {
  const u = {
    id: `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`,
    email: `user${i}@example${(random() * 50) | 0}.org`,
    name: `User ${i}`,
    age: (random() * 100) | 0,
    createdAt: new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 1.5e11)).toISOString(),
    homepage: `https://example.org/u/${i}`,
    roles: ["viewer", ...(random() < 0.3 ? ["editor"] : []), ...(random() < 0.05 ? ["admin"] : [])],
    address: { street: `${(random() * 999) | 0} Main St`, city: "Springfield", zip: String(10000 + ((random() * 89999) | 0)), country: "US" },
  };
  const r = random();
  if (r < 0.03) u.email = "not-an-email";
  else if (r < 0.06) u.address.zip = "ABCDE";
  else if (r < 0.08) u.roles = ["root"];
  else if (r < 0.1) u.extra = true;
  return u;
}

exports.main = async function main(params) {
  const { work, random } = args(params, 150);
  const count = Math.max(1, Math.round(work * 5000));
  let invalid = 0;
  const errorsByKeyword = {};
  const digest = createHash("sha256");
  for (let i = 0; i < count; i++) {
    const ok = validate(user(i, random));
    digest.update(ok ? "1" : "0");
    if (!ok) {
      invalid++;
      for (const e of validate.errors) errorsByKeyword[e.keyword] = (errorsByKeyword[e.keyword] || 0) + 1;
    }
  }
  return { records: count, invalid, errorsByKeyword, checksum: digest.digest("hex").slice(0, 16) };
};
