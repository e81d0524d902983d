#!/usr/bin/env bash
# Stages the build context of compose/docker-compose.local.yml in .faas/compose-context: this checkout's
# build (dist/), its production node_modules, this host's nats-server, and images/mesh/Dockerfile.local;
# and makes sure the local base image exists (images/local-base.sh). Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'prepare-local: %s\n' "$*" >&2; }

[ -f dist/services/gateway/main.js ] && [ -f dist/sidecar-bundle/tracing.js ] || { say "no build yet; running npm run build"; npm run build --silent; }
NATS_BIN="$(command -v nats-server || true)"
[ -n "$NATS_BIN" ] || { say "error: nats-server is not installed (apt-get install -y nats-server)"; exit 1; }

CTX=.faas/compose-context
rm -rf "$CTX"
mkdir -p "$CTX"
cp images/mesh/Dockerfile.local package.json package-lock.json "$CTX/"
cp -r dist "$CTX/dist"
cp "$NATS_BIN" "$CTX/nats-server"
# The installed dependencies, minus the development ones (offline: prune only removes).
cp -a node_modules "$CTX/node_modules"
(cd "$CTX" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
say "staged $CTX ($(du -sh "$CTX" | cut -f1))"

BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}" bash images/local-base.sh
