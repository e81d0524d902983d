// template-render: renders a Handlebars invoice page for `work`x1000 seeded line items; each item's note is inline
// Markdown rendered by marked through a helper. The template is compiled once per container.
const { createHash } = require("node:crypto");
const Handlebars = require("handlebars");
const { marked } = require("marked");

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
const hb = Handlebars.create();
hb.registerHelper("money", (cents) => (cents / 100).toFixed(2));
hb.registerHelper("markdown", (text) => new hb.SafeString(marked.parseInline(text, { async: false })));
hb.registerHelper("upper", (s) => String(s).toUpperCase());
const template = hb.compile(`<html><head><title>Invoice {{invoice.number}}</title></head><body>
<h1>Invoice {{invoice.number}} for {{upper invoice.customer}}</h1>
<table>{{#each items}}
<tr class="{{#if @odd}}odd{{else}}even{{/if}}"><td>{{@index}}</td><td>{{sku}}</td><td>{{qty}}</td><td>{{money cents}}</td><td>{{markdown note}}</td>{{#if discount}}<td>-{{discount}}%</td>{{/if}}</tr>{{/each}}
</table><p>Total: {{money total}}</p></body></html>`);

const NOTES = ["**express** delivery", "_gift_ wrapped", "see [terms](https://example.org/terms)", "`backorder`", "plain note", "<b>escaped & kept</b>"];

exports.main = async function main(params) {
  const { work, seed, random } = args(params, 100);
  const items = [];
  let total = 0;
  for (let i = 0, n = Math.max(1, Math.round(work * 1000)); i < n; i++) {
    const item = { sku: `SKU-${(random() * 10000) | 0}`, qty: 1 + ((random() * 9) | 0), cents: (random() * 100000) | 0, note: NOTES[(random() * NOTES.length) | 0], discount: random() < 0.2 ? 5 + ((random() * 20) | 0) : 0 };
    total += item.qty * item.cents;
    items.push(item);
  }
  const html = template({ invoice: { number: `INV-${seed}`, customer: "acme & co" }, items, total });
  return { items: items.length, htmlBytes: html.length, checksum: checksum(html) };
};
