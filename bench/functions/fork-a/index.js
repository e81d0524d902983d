// Fork benchmark function a: formats a duration with its pinned package, which the zygote set holds.
const ms = require("ms");
exports.main = async (params) => ({ fn: "a", took: ms(Number(params.ms ?? 1500), { long: true }) });
