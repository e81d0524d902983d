// yaml-convert: generates a seeded deployment config of `work`x500 services, dumps it to YAML (js-yaml), loads it
// back, merges per-service defaults with lodash, and converts the result to JSON.
const { createHash } = require("node:crypto");
const yaml = require("js-yaml");
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

const DEFAULTS = { replicas: 1, resources: { cpu: "100m", memory: "128Mi" }, env: { LOG_LEVEL: "info" }, probes: { liveness: { path: "/healthz", periodSeconds: 10 } } };

function generate(count, random) {
  const services = {};
  for (let i = 0; i < count; i++) {
    const s = { image: `registry.example.org/team${i % 17}/svc-${i}:${1 + ((random() * 20) | 0)}.${(random() * 10) | 0}`, ports: [8000 + (i % 1000)] };
    if (random() < 0.5) s.replicas = 1 + ((random() * 5) | 0);
    if (random() < 0.4) s.resources = { memory: `${64 << ((random() * 4) | 0)}Mi` };
    if (random() < 0.6) s.env = { FEATURE_X: String(random() < 0.5), REGION: ["eu", "us", "ap"][(random() * 3) | 0] };
    if (random() < 0.2) s.dependsOn = [`svc-${(random() * count) | 0}`];
    services[`svc-${i}`] = s;
  }
  return { version: 3, services };
}

exports.main = async function main(params) {
  const { work, random } = args(params, 60);
  const count = Math.max(1, Math.round(work * 500));
  const text = yaml.dump(generate(count, random), { noRefs: true, lineWidth: 120 });
  const loaded = yaml.load(text, { schema: yaml.DEFAULT_SCHEMA });
  const services = _.mapValues(loaded.services, (s) => _.merge(_.cloneDeep(DEFAULTS), s));
  const replicas = _.sumBy(_.values(services), "replicas");
  const byRegion = _.countBy(_.values(services), (s) => s.env.REGION || "none");
  const json = JSON.stringify({ version: loaded.version, services });
  return { services: count, yamlBytes: text.length, jsonBytes: json.length, replicas, byRegion, checksum: checksum(json) };
};
