// markdown-render: generates a seeded Markdown document of `work`x100 sections, renders it to HTML with marked
// and sanitises the HTML (untrusted input: scripts, event handlers and javascript: links are removed).
const { createHash } = require("node:crypto");
const { marked } = require("marked");
const sanitizeHtml = require("sanitize-html");

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
const WORDS = "the function container cold start zygote fork batch pack latency memory trace node gateway balancer sidecar".split(" ");
const sentence = (random, n) => Array.from({ length: n }, () => WORDS[(random() * WORDS.length) | 0]).join(" ");

function generate(sections, random) {
  const parts = [];
  for (let s = 0; s < sections; s++) {
    parts.push(`## Section ${s + 1}: ${sentence(random, 3)}`, "");
    parts.push(`${sentence(random, 30)} with **bold ${sentence(random, 2)}**, _emphasis_, \`code\` and a [link](https://example.org/${s}).`, "");
    for (let i = 0; i < 4; i++) parts.push(`- ${sentence(random, 6)}`);
    parts.push("", "| key | value |", "|---|---|", `| a | ${(random() * 1000) | 0} |`, `| b | ${(random() * 1000) | 0} |`, "");
    parts.push("```js", `const x${s} = ${(random() * 100) | 0};`, "```", "");
    if (random() < 0.2) parts.push(`<script>alert(${s})</script> <a href="javascript:void(0)" onclick="x()">bad</a>`, "");
  }
  return parts.join("\n");
}

const SANITIZE = { allowedTags: sanitizeHtml.defaults.allowedTags.concat(["h1", "h2"]), allowedAttributes: { a: ["href"], code: ["class"] } };

exports.main = async function main(params) {
  const { work, random } = args(params, 40);
  const markdown = generate(Math.max(1, Math.round(work * 100)), random);
  const html = marked.parse(markdown, { async: false });
  const clean = sanitizeHtml(html, SANITIZE);
  return { markdownBytes: markdown.length, htmlBytes: html.length, cleanBytes: clean.length, removedScripts: (html.match(/<script>/g) || []).length, checksum: checksum(clean) };
};
