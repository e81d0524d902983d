// csv-transform: generates a seeded CSV of `work`x10k sales rows, parses it, aggregates revenue by region and
// product, and writes the summary as CSV.
const { createHash } = require("node:crypto");
const Papa = require("papaparse");
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
const REGIONS = ["north", "south", "east", "west", "central"];
const PRODUCTS = ["widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "bracket", "valve"];

function generate(rows, random) {
  const data = [];
  for (let i = 0; i < rows; i++) {
    data.push({
      id: i + 1,
      date: new Date(Date.UTC(2024, 0, 1) + ((random() * 365) | 0) * 86400000).toISOString().slice(0, 10),
      region: REGIONS[(random() * REGIONS.length) | 0],
      product: PRODUCTS[(random() * PRODUCTS.length) | 0],
      quantity: 1 + ((random() * 20) | 0),
      unitPrice: Math.round(random() * 10000) / 100,
    });
  }
  return Papa.unparse(data);
}

exports.main = async function main(params) {
  const { work, random } = args(params, 12);
  const csv = generate(Math.max(1, Math.round(work * 10000)), random);
  const parsed = Papa.parse(csv, { header: true, dynamicTyping: true, skipEmptyLines: true });
  if (parsed.errors.length) throw new Error(`CSV parse error: ${parsed.errors[0].message}`);
  const rows = parsed.data.map((r) => ({ ...r, revenue: r.quantity * r.unitPrice, month: r.date.slice(0, 7) }));
  const summary = _.chain(rows)
    .groupBy((r) => `${r.region}|${r.product}`)
    .map((group, key) => {
      const [region, product] = key.split("|");
      return { region, product, orders: group.length, units: _.sumBy(group, "quantity"), revenue: _.round(_.sumBy(group, "revenue"), 2), months: _.uniqBy(group, "month").length };
    })
    .orderBy(["revenue"], ["desc"])
    .value();
  const out = Papa.unparse(summary);
  return { rows: rows.length, csvBytes: csv.length, groups: summary.length, top: summary[0], outputBytes: out.length, checksum: checksum(out) };
};
