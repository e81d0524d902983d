#!/usr/bin/env bash
# Builds the nodejs20 runtime image (Node + sidecar bundle) that function images build FROM.
#   RUNTIME_IMAGE  tag to build (default faas/runtime-nodejs20:dev)
#   BASE_IMAGE     base image (default node:20-bookworm-slim; created by images/local-base.sh when missing)
# The build context is a temp dir holding only the Dockerfile and the bundle files.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-faas/runtime-nodejs20:dev}"
BUNDLE_DIR="$REPO_ROOT/dist/sidecar-bundle"
say() { printf 'build: %s\n' "$*" >&2; }

if [ ! -f "$BUNDLE_DIR/sidecar.js" ] || [ ! -f "$BUNDLE_DIR/worker.js" ] || [ ! -f "$BUNDLE_DIR/tracing.js" ]; then
  say "no sidecar bundle yet; running npm run build"
  (cd "$REPO_ROOT" && npm run build)
elif [ -n "$(find "$REPO_ROOT/sidecar" "$REPO_ROOT/common" -name '*.ts' -newer "$BUNDLE_DIR/sidecar.js" -print -quit)" ]; then
  say "warning: sources changed since $BUNDLE_DIR was bundled; run \`npm run build\` to include them"
fi

BASE_IMAGE="$BASE_IMAGE" bash "$REPO_ROOT/images/local-base.sh"

CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/faas-runtime-build.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
cp "$REPO_ROOT/images/runtime-nodejs20/Dockerfile" "$BUNDLE_DIR/sidecar.js" "$BUNDLE_DIR/worker.js" "$BUNDLE_DIR/tracing.js" "$CONTEXT/"

# Debian's docker.io has no buildx plugin: the classic builder then needs asking for explicitly.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! docker buildx version >/dev/null 2>&1; then
  export DOCKER_BUILDKIT=0
fi

say "building $RUNTIME_IMAGE from $BASE_IMAGE"
docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$RUNTIME_IMAGE" -f "$CONTEXT/Dockerfile" "$CONTEXT" >/dev/null
IMAGE_ID="$(docker image inspect -f '{{.Id}}' "$RUNTIME_IMAGE")"
say "built $RUNTIME_IMAGE"
echo "$IMAGE_ID"
