#!/usr/bin/env bash
# Compose smoke test (run by scripts/test.sh after the test suite): brings the stack up with
# compose/docker-compose.local.yml (images built here, host networking), deploys a sample function
# through the gateway over gRPC (as a tenant the operator key creates), invokes it over Connect JSON with curl, checks the answer, and tears
# everything down, volumes and function containers included. Uses the services' default ports
# (7100-7104, NATS 4222/8222) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[compose-smoke]\033[0m %s\n' "$*"; }

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
files=(-p faas-smoke -f compose/docker-compose.yml -f compose/docker-compose.local.yml)
down() { "${compose[@]}" "${files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap 'status=$?; [ $status -ne 0 ] && "${compose[@]}" "${files[@]}" logs --tail=40 >&2 || true; down; exit $status' EXIT

bash compose/prepare-local.sh
down
say "docker compose up (building the images)"
mkdir -p .faas
"${compose[@]}" "${files[@]}" up -d --build >.faas/compose-up.log 2>&1 || { tail -n 40 .faas/compose-up.log >&2; exit 1; }
for _ in $(seq 1 120); do
  curl -fsS http://127.0.0.1:7100/healthz >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS http://127.0.0.1:7100/healthz >/dev/null || { say "the gateway did not become healthy"; exit 1; }

say "creating a tenant with the operator key mesh-secrets made, and an API key of it"
operator_key="$("${compose[@]}" "${files[@]}" exec -T gateway node -e 'process.stdout.write(require("fs").readFileSync("/secrets/operator.key", "utf8").trim())')"
api_key="$(FAAS_GATEWAY=127.0.0.1:7100 FAAS_API_KEY="$operator_key" node dist/client/cli.js tenant-create smoke)"
say "the internal services refuse calls without the mesh's secret"
code="$(curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{}' http://127.0.0.1:7101/faas.balancer.v1.BalancerService/ListNodes)"
[ "$code" = 401 ] || { say "the balancer answered $code to a call without the internal secret"; exit 1; }

say "deploying functions/hello (gRPC) and invoking it (Connect JSON over curl)"
FAAS_GATEWAY=127.0.0.1:7100 FAAS_API_KEY="$api_key" node dist/client/cli.js deploy functions/hello >/dev/null
answer="$(curl -fsS -H 'content-type: application/json' -H "authorization: Bearer $api_key" -d '{"function":"hello","payload":"eyJuYW1lIjoic21va2UifQ=="}' http://127.0.0.1:7100/faas.gateway.v1.GatewayService/Invoke)"
output="$(node -e 'const a = JSON.parse(process.argv[1]); if (a.status !== "INVOCATION_STATUS_OK") { console.error(JSON.stringify(a)); process.exit(1); } console.log(Buffer.from(a.output, "base64").toString())' "$answer")"
case "$output" in
  *'Hello, smoke!'*) say "answer: $output" ;;
  *) say "unexpected answer: $answer"; exit 1 ;;
esac
# Read the whole page first: grep -q stops at its match, and with pipefail curl's failed write (23) to the
# closed pipe would fail the check that just passed.
metrics="$(curl -fsS http://127.0.0.1:7100/metrics)"
grep -q '^faas_invocations_total{.*function="smoke_hello".*} 1$' <<<"$metrics" || { say "the gateway's /metrics did not count the invocation"; exit 1; }
say "ok; tearing down"
