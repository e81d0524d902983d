// Renders Markdown to HTML with an exact-pinned npm dependency, installed into the function's image.
const { marked } = require("marked");

exports.main = async function main(params) {
  if (typeof params.markdown !== "string") throw new TypeError("params.markdown must be a string");
  const html = marked.parse(params.markdown, { async: false });
  return { html, bytes: Buffer.byteLength(html) };
};
