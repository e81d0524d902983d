// Fork benchmark function b: formats a duration with its pinned package, which the zygote set holds.
const ms = require("ms");
exports.main = async (params) => ({ fn: "b", took: ms(Number(params.ms ?? 1500), { long: true }) });
