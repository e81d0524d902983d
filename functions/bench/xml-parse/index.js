// xml-parse: builds a seeded XML catalogue of `work`x5000 books with fast-xml-parser's builder, parses it back
// (attributes included) and aggregates prices by genre.
const { createHash } = require("node:crypto");
const { XMLBuilder, XMLParser } = require("fast-xml-parser");

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

const GENRES = ["fiction", "science", "history", "poetry", "travel", "cooking"];
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", format: true });
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseAttributeValue: true, isArray: (name) => name === "book" || name === "author" });

exports.main = async function main(params) {
  const { work, random } = args(params, 5);
  const count = Math.max(1, Math.round(work * 5000));
  const book = [];
  for (let i = 0; i < count; i++) {
    book.push({
      "@id": `bk${i}`,
      "@genre": GENRES[(random() * GENRES.length) | 0],
      title: `Title ${i} & <${(random() * 1e6) | 0}>`,
      author: Array.from({ length: 1 + ((random() * 3) | 0) }, (_, k) => `Author ${(random() * 500) | 0}-${k}`),
      price: Math.round(random() * 10000) / 100,
      published: `${1900 + ((random() * 124) | 0)}-0${1 + ((random() * 9) | 0)}-1${(random() * 9) | 0}`,
      description: "A seeded book description with some text to parse. ".repeat(1 + ((random() * 4) | 0)),
    });
  }
  const xml = builder.build({ "?xml": { "@version": "1.0", "@encoding": "UTF-8" }, catalog: { book } });
  const books = parser.parse(xml).catalog.book;
  if (books.length !== count) throw new Error(`parsed ${books.length} books, expected ${count}`);
  const byGenre = {};
  let authors = 0;
  for (const b of books) {
    const g = (byGenre[b["@genre"]] ??= { books: 0, total: 0 });
    g.books++;
    g.total = Math.round((g.total + b.price) * 100) / 100;
    authors += b.author.length;
  }
  return { books: books.length, authors, xmlBytes: xml.length, byGenre, checksum: checksum(JSON.stringify(byGenre) + xml.length) };
};
