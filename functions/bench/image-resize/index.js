// image-resize: generates a seeded image of `work` megapixels, resizes it to half size (bilinear), encodes JPEG.
const { createHash } = require("node:crypto");
const { Jimp, ResizeStrategy } = require("jimp");

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

/** A 4:3 RGBA image of about `megapixels`: smooth gradients plus seeded noise and blocks (compresses like a photo). */
function generate(megapixels, random) {
  const width = Math.max(8, Math.round(Math.sqrt((megapixels * 1e6 * 4) / 3)));
  const height = Math.max(6, Math.round((width * 3) / 4));
  const image = new Jimp({ width, height, color: 0x000000ff });
  const data = image.bitmap.data;
  const fx = 1 + random() * 4, fy = 1 + random() * 4;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 4) {
      const noise = (random() * 32) | 0;
      data[i] = (128 + 127 * Math.sin((x / width) * fx * Math.PI) + noise) & 255;
      data[i + 1] = (128 + 127 * Math.cos((y / height) * fy * Math.PI) + noise) & 255;
      data[i + 2] = ((x ^ y) + noise) & 255;
      data[i + 3] = 255;
    }
  }
  return image;
}

exports.main = async function main(params) {
  const { work, random } = args(params, 12);
  const image = generate(work, random);
  const source = { width: image.bitmap.width, height: image.bitmap.height };
  image.resize({ w: Math.max(1, source.width >> 1), h: Math.max(1, source.height >> 1), mode: ResizeStrategy.BILINEAR });
  const jpeg = await image.getBuffer("image/jpeg", { quality: 80 });
  return { source, resized: { width: image.bitmap.width, height: image.bitmap.height }, jpegBytes: jpeg.length, checksum: checksum(jpeg) };
};
