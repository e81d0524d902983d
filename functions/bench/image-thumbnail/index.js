// image-thumbnail: generates a seeded image of `work` megapixels, crops it to a 320x240 thumbnail (cover),
// encodes the thumbnail as PNG and computes its BlurHash placeholder.
const { createHash } = require("node:crypto");
const { Jimp } = require("jimp");
const { encode: blurhash } = require("blurhash");

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

/** A 16:9 RGBA image of about `megapixels`: radial gradients plus seeded noise. */
function generate(megapixels, random) {
  const width = Math.max(16, Math.round(Math.sqrt((megapixels * 1e6 * 16) / 9)));
  const height = Math.max(9, Math.round((width * 9) / 16));
  const image = new Jimp({ width, height, color: 0x000000ff });
  const data = image.bitmap.data;
  const cx = random() * width, cy = random() * height, r = Math.hypot(width, height);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 4) {
      const d = Math.hypot(x - cx, y - cy) / r;
      const noise = (random() * 24) | 0;
      data[i] = (255 * (1 - d) + noise) & 255;
      data[i + 1] = (255 * d + noise) & 255;
      data[i + 2] = ((y * 255) / height + noise) & 255;
      data[i + 3] = 255;
    }
  }
  return image;
}

exports.main = async function main(params) {
  const { work, random } = args(params, 32);
  const image = generate(work, random);
  const source = { width: image.bitmap.width, height: image.bitmap.height };
  image.cover({ w: 320, h: 240 });
  const png = await image.getBuffer("image/png");
  const { data, width, height } = image.bitmap;
  const hash = blurhash(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width, height, 4, 3);
  return { source, thumbnail: { width, height }, pngBytes: png.length, blurhash: hash, checksum: checksum(png) };
};
