// GET /metrics of every service, scraped from a real mesh after one invocation: each parses as Prometheus
// text and counts what happened (the invocation, its phases, the container it started, its record).
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { InvocationStatus } from "../../gen/faas/common/v1/common_pb.js";
import { eventually } from "../helpers/eventually.js";
import { parsePrometheusText, sampleSum, type Sample } from "../helpers/prometheus-text.js";
import { deployFixture, json, useMesh } from "../helpers/test-mesh.js";
import { REPO_ROOT } from "../../scripts/local-mesh.js";

const ctx = useMesh(test);
const SERVICES = ["gateway", "balancer", "node-manager", "trace-store", "zygote-builder"] as const;

async function scrape(service: (typeof SERVICES)[number]): Promise<Sample[]> {
  const res = await fetch(`${ctx.mesh.url(service)}/metrics`);
  if (res.status !== 200) throw new Error(`${service} /metrics answered ${res.status}`);
  if (!res.headers.get("content-type")?.startsWith("text/plain")) throw new Error(`${service} /metrics is ${res.headers.get("content-type")}`);
  return parsePrometheusText(await res.text());
}

test.serial("every service's /metrics parses, and counts one invocation from gateway to record", async (t) => {
  await deployFixture(ctx, "echo");
  const before = await scrape("gateway");
  t.is(sampleSum(before, "faas_invocations_total", { function: ctx.mesh.qualified("echo") }), undefined, "nothing counted before the invocation");
  const { message: r } = await ctx.gateway.invoke({ function: "echo", payload: json({ hello: 1 }) }, { timeoutMs: 60_000 });
  t.is(r.status, InvocationStatus.OK, r.error?.message);

  const gateway = await scrape("gateway");
  t.is(sampleSum(gateway, "faas_invocations_total", { function: ctx.mesh.qualified("echo"), status: "OK", start_kind: "COLD" }), 1);
  for (const phase of ["queued", "startup", "init", "exec", "total"]) {
    t.is(sampleSum(gateway, "faas_invocation_phase_seconds_count", { function: ctx.mesh.qualified("echo"), phase }), 1, `one ${phase} observation`);
  }
  const total = sampleSum(gateway, "faas_invocation_phase_seconds_sum", { function: ctx.mesh.qualified("echo"), phase: "total" })!;
  t.true(Math.abs(total - Number(r.timings!.totalUs) / 1e6) < 1e-3, "the total phase is the answer's total");

  const balancer = await scrape("balancer");
  t.is(sampleSum(balancer, "faas_balancer_routed_total", { function: ctx.mesh.qualified("echo") }), 1);

  const node = await scrape("node-manager");
  t.is(sampleSum(node, "faas_container_starts_total", { start_kind: "COLD" }), 1);
  t.is(sampleSum(node, "faas_containers", { role: "EXECUTOR" }), 1);
  t.true(sampleSum(node, "faas_memory_held_mb")! > 0);
  t.true(sampleSum(node, "faas_memory_capacity_mb")! >= sampleSum(node, "faas_memory_held_mb")!);

  // The record reaches trace-store in the gateway's next batch.
  await eventually(async () => sampleSum(await scrape("trace-store"), "faas_records_stored_total") === 1 || undefined, "trace-store to count the record");

  for (const service of SERVICES) {
    const samples = await scrape(service);
    const prefix = `faas_${service.replace(/-/g, "_")}_`;
    t.true(sampleSum(samples, `${prefix}process_cpu_seconds_total`)! > 0, `${service} reports its process`);
    t.true(samples.every((s) => s.labels.service === service), `${service} labels its samples`);
  }
});

test.serial("every metric the Grafana dashboard plots and every target Prometheus scrapes is one the services serve", async (t) => {
  // Declared (# TYPE), so that series with no sample yet (batching is off in this mesh) count too.
  const served = new Set<string>();
  for (const service of SERVICES) {
    const text = await (await fetch(`${ctx.mesh.url(service)}/metrics`)).text();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      served.add(name);
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) served.add(name + suffix);
    }
  }
  const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "observability/grafana/dashboards/faas-mesh.json"), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
  const plotted = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((x) => x.expr.match(/faas_[a-z_]+/g) ?? [])));
  t.true(plotted.size >= 8);
  for (const name of plotted) t.true(served.has(name), `${name} (dashboard) is served`);
  // The scrape config names each service at its default port.
  const prometheus = fs.readFileSync(path.join(REPO_ROOT, "observability/prometheus.yml"), "utf8");
  for (const [service, port] of [["gateway", 7100], ["balancer", 7101], ["node-manager", 7102], ["zygote-builder", 7103], ["trace-store", 7104]] as const) {
    t.true(prometheus.includes(`"${service}:${port}"`), `prometheus scrapes ${service}:${port}`);
  }
});

test("the text parser refuses what is not Prometheus text", (t) => {
  t.deepEqual(parsePrometheusText('# HELP x y\nx{a="1",b="q\\"uote"} 2.5\ny 3 1700000000\n'), [
    { name: "x", labels: { a: "1", b: 'q"uote' }, value: 2.5 },
    { name: "y", labels: {}, value: 3 },
  ]);
  t.true(Number.isNaN(parsePrometheusText("z Nan")[0].value), "prom-client writes NaN as Nan, which Prometheus reads");
  t.throws(() => parsePrometheusText("<html>nope</html>"), { message: /not a sample/ });
  t.throws(() => parsePrometheusText('x{a=1} 2'), { message: /malformed labels/ });
  t.throws(() => parsePrometheusText("x abc"), { message: /no number/ });
});
