#!/usr/bin/env bash
# Makes sure the base image of the runtime Dockerfiles exists locally. These build machines have no
# registry: when the image is absent and cannot be pulled, a minimal one is built from the host's own Node
# runtime (the node binary, the shared libraries ldd lists, passwd/group) and imported under the same tag,
# so the Dockerfiles build unchanged. Idempotent.
#   BASE_IMAGE    tag to provide (default node:20-bookworm-slim)
#   PULL_TIMEOUT  seconds to try a pull before building locally (default 20)
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
PULL_TIMEOUT="${PULL_TIMEOUT:-20}"
say() { printf 'local-base: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "Docker engine not reachable (is dockerd running, may this user use its socket?)"

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "$BASE_IMAGE exists locally; nothing to do"
  exit 0
fi

say "$BASE_IMAGE not found locally; trying to pull it (${PULL_TIMEOUT}s)"
if timeout "$PULL_TIMEOUT" docker pull "$BASE_IMAGE" >/dev/null 2>&1; then
  say "pulled $BASE_IMAGE"
  exit 0
fi
say "pull failed; building $BASE_IMAGE from this host's Node runtime"

NODE_PATH_ON_HOST="$(command -v node || true)"
[ -n "$NODE_PATH_ON_HOST" ] || die "no node on this host's PATH to build a base image from"
NODE_BIN="$(readlink -f "$NODE_PATH_ON_HOST")"
NODE_VERSION="$("$NODE_BIN" --version)"
case "$NODE_VERSION" in
  v20.*) ;;
  *) say "warning: host node is $NODE_VERSION, not 20.x; the image is tagged $BASE_IMAGE anyway" ;;
esac
command -v ldd >/dev/null || die "ldd not found (needed to find node's shared libraries)"

ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/faas-local-base.XXXXXX")"
trap 'rm -rf "$ROOTFS"' EXIT

install -d -m 0755 "$ROOTFS/usr/local/bin" "$ROOTFS/etc" "$ROOTFS/fn" "$ROOTFS/run/faas" "$ROOTFS/home/node" "$ROOTFS/opt"
install -d -m 1777 "$ROOTFS/tmp"
cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
chmod 0755 "$ROOTFS/usr/local/bin/node"

# Every library ldd lists, at the absolute path the loader looks for it (the "=> /path" column, or the
# first column for the dynamic loader itself), dereferenced so the image needs no symlink targets.
libs="$(ldd "$NODE_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }')"
[ -n "$libs" ] || die "ldd listed no libraries for $NODE_BIN (a static binary needs none, but this looks wrong)"
for lib in $libs; do
  [ -e "$lib" ] || die "library $lib listed by ldd does not exist"
  install -d "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
say "copied node $NODE_VERSION and $(wc -w <<<"$libs") libraries"

cat >"$ROOTFS/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$ROOTFS/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
cat >"$ROOTFS/etc/nsswitch.conf" <<'NSS'
passwd: files
group: files
hosts: files dns
NSS
chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf"

# Everything belongs to root except the node user's home; without root (docker group) chown is not
# possible, so the archive forces root ownership instead.
TAR_OWNER=(--numeric-owner)
if [ "$(id -u)" -eq 0 ]; then
  chown 1000:1000 "$ROOTFS/home/node"
else
  TAR_OWNER+=(--owner=0 --group=0)
  say "note: not root, /home/node will belong to root"
fi

tar -C "$ROOTFS" "${TAR_OWNER[@]}" -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["node"]' \
    --change 'LABEL faas.local-base=true' \
    --change "LABEL faas.local-base.node-version=$NODE_VERSION" \
    --message "faas local base from the host's node $NODE_VERSION" \
    - "$BASE_IMAGE" >/dev/null

docker run --rm --network none "$BASE_IMAGE" node -e 'process.exit(process.version.startsWith("v") ? 0 : 1)' ||
  die "the imported image $BASE_IMAGE cannot run node"
say "built $BASE_IMAGE ($(docker image inspect -f '{{.Id}}' "$BASE_IMAGE"))"
