// json-transform: generates a seeded JSON document of `work`x10k orders, parses it, then filters, groups, sorts
// and re-serialises it with lodash.
const { createHash } = require("node:crypto");
const _ = require("lodash");

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
const STATUSES = ["new", "paid", "shipped", "delivered", "returned"];

function generate(count, random) {
  const orders = [];
  for (let i = 0; i < count; i++) {
    const items = [];
    for (let k = 1 + ((random() * 4) | 0); k > 0; k--) items.push({ sku: `SKU-${(random() * 500) | 0}`, qty: 1 + ((random() * 5) | 0), price: Math.round(random() * 20000) / 100 });
    orders.push({ id: i + 1, customer: { id: (random() * 2000) | 0, country: ["DE", "FR", "US", "JP", "BR"][(random() * 5) | 0] }, status: STATUSES[(random() * STATUSES.length) | 0], items, tags: random() < 0.3 ? ["gift"] : [] });
  }
  return JSON.stringify({ generated: "2024-01-01T00:00:00Z", orders });
}

exports.main = async function main(params) {
  const { work, random } = args(params, 16);
  const text = generate(Math.max(1, Math.round(work * 10000)), random);
  const { orders } = JSON.parse(text);
  const enriched = orders
    .filter((o) => o.status !== "returned")
    .map((o) => ({ ...o, total: _.round(_.sumBy(o.items, (i) => i.qty * i.price), 2), units: _.sumBy(o.items, "qty") }));
  const byCountry = _.mapValues(_.groupBy(enriched, "customer.country"), (g) => ({ orders: g.length, revenue: _.round(_.sumBy(g, "total"), 2) }));
  const topCustomers = _.chain(enriched).groupBy("customer.id").map((g, id) => ({ id: Number(id), total: _.round(_.sumBy(g, "total"), 2) })).orderBy(["total", "id"], ["desc", "asc"]).take(10).value();
  const skus = _.countBy(_.flatMap(enriched, "items"), "sku");
  const out = JSON.stringify({ byCountry, topCustomers, skuCount: _.size(skus), pages: _.chunk(_.sortBy(enriched, ["total", "id"]).map((o) => o.id), 100).length });
  return { orders: orders.length, kept: enriched.length, inputBytes: text.length, outputBytes: out.length, checksum: checksum(out) };
};
