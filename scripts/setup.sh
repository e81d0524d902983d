#!/usr/bin/env bash
# Everything a fresh Debian machine with Node 20 needs, run as root, idempotent: Debian packages
# (Docker engine, nats-server, docker-compose), npm dependencies, a running Docker engine, the build, and the images.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
# docker compose (the plugin) where it exists; Debian's docker-compose otherwise (the compose smoke test).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || ! npm ls --depth=0 >/dev/null 2>&1; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! docker info >/dev/null 2>&1; then
  log "starting the Docker engine (dockerd --bridge=none --iptables=false)"
  mkdir -p .faas
  # setsid: the engine outlives this script and is not stopped with its process group.
  setsid nohup dockerd --bridge=none --iptables=false >.faas/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "the Docker engine did not start; see .faas/dockerd.log" >&2; exit 1; }
fi

log "building (buf generate, tsc, sidecar bundle)"
npm run build --silent

log "building the images"
bash images/build.sh
