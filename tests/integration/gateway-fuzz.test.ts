// Fuzzes the gateway of a real mesh over real sockets (loadgen/fuzz/): mutated protobuf, JSON, envelopes,
// headers, methods, paths, content types and sizes over gRPC, gRPC-Web and Connect on HTTP/1.1 and h2,
// with a fixed seed. Every request must get a complete answer in time with a precise code, and the
// gateway must be alive, healthy and invoking afterwards. `npm run fuzz` runs the same for 100,000.
import test from "ava";
import { FUZZ_MESH_ENV, gatewayAlive, gatewayHealth, prepareTarget } from "../../loadgen/fuzz/mesh-target.js";
import { runFuzz } from "../../loadgen/fuzz/runner.js";
import { useMesh } from "../helpers/test-mesh.js";

const ctx = useMesh(test, { env: FUZZ_MESH_ENV });

const SEED = 20261205;
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);

test.serial(`${REQUESTS} fuzzed requests (seed ${SEED}) all get a precise answer, and the gateway keeps serving`, async (t) => {
  const target = await prepareTarget(ctx.mesh);
  const stats = await runFuzz(target, { requests: REQUESTS, seed: SEED, concurrency: 16, timeoutMs: 10_000, alive: () => gatewayAlive(ctx.mesh) });
  const findings = JSON.stringify(stats.findings, null, 2);
  t.log(`seed ${SEED}: ${stats.requests} requests in ${stats.elapsedMs} ms (${stats.rps}/s), codes ${JSON.stringify(stats.codes)}`);
  t.is(stats.requests, REQUESTS);
  t.false(stats.gatewayDied, "the gateway died during the run");
  t.is(stats.generatorErrors, 0, findings);
  t.is(stats.hangs, 0, findings);
  t.is(stats.incomplete, 0, findings);
  t.is(stats.wrongAnswers, 0, findings);
  for (const imprecise of ["unknown", "internal", "data_loss", "none"]) t.is(stats.codes[imprecise] ?? 0, 0, `${imprecise}: ${findings}`);
  // Every answer's code is a protocol code or an HTTP answer the spec allows (checked per request by the oracle).
  for (const code of Object.keys(stats.codes)) t.regex(code, /^([a-z_]+|http_40[45]|http_415)$/);
  // The mix reached every protocol and the functions really ran.
  for (const flavor of ["grpc/h2", "grpc-web/h1", "grpc-web/h2", "connect-json/h1", "connect-json/h2", "connect-proto/h1", "connect-proto/h2"]) t.true((stats.protocols[flavor] ?? 0) > 0, flavor);
  t.true((stats.codes.ok ?? 0) > 0);
  if (target.apiKey) t.true((stats.codes.unauthenticated ?? 0) > 0);

  const health = await gatewayHealth(ctx.mesh, target);
  t.true(health.alive, "gateway process alive");
  t.is(health.healthz, 200);
  t.true(health.invokeOk, health.detail);
});
