// Greets the caller: the smallest useful function.
exports.main = async function main(params, ctx) {
  const name = typeof params.name === "string" && params.name ? params.name : "world";
  return { greeting: `Hello, ${name}!`, invocationId: ctx.invocationId };
};
