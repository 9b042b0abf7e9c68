#!/usr/bin/env bash
# helm.sh — a pinned Helm v3, built from source through the Go module proxy (like
# scripts/k8s-test-env.sh builds the API server) and cached per version.
#
# Usage:
#   scripts/helm.sh [build]          ensure helm is built and cached; print its path
#   scripts/helm.sh path             the same (for `HELM=$(scripts/helm.sh path)`)
#   scripts/helm.sh version          ensure it is built; print `helm version`
#   scripts/helm.sh run -- ARGS...   ensure it is built; exec helm ARGS...
#
# The binary goes to ${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/helm/<version>/helm. Helm's own
# go.mod has no replace directives, so a throwaway module that requires helm.sh/helm/v3 at the
# pinned version and builds helm.sh/helm/v3/cmd/helm gets exactly Helm's dependency versions.
# The ldflags are those of Helm's Makefile: the version string, and the Kubernetes version that
# `helm template` / `helm lint` assume (from the k8s.io/client-go that Helm requires).
#
# Environment knobs:
#   HELM_VERSION              version to build (default pinned below)
#   GO                        go binary (default: `go` on PATH, else /usr/local/go/bin/go)
#   XDG_CACHE_HOME            cache root (default $HOME/.cache)
#   HELM_BUILD_TIMEOUT        seconds for a cold build (default 3600)
#
# Requires: bash, awk, sed, timeout; go only for a build. Logs go to stderr, the path to stdout.
set -euo pipefail

readonly DEFAULT_HELM_VERSION=v3.22.0
BUILD_TIMEOUT=${HELM_BUILD_TIMEOUT:-3600}
PROG=helm.sh
# shellcheck source-path=SCRIPTDIR source=lib/go-build-cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-build-cache.sh"





HELM_VERSION=${HELM_VERSION:-$DEFAULT_HELM_VERSION}
[[ $HELM_VERSION =~ ^v3\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "HELM_VERSION must look like v3.22.0 (got '$HELM_VERSION')"
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/helm/$HELM_VERSION
HELM_BIN=$CACHE_DIR/helm

helm_ready() { [[ -x $HELM_BIN ]]; }

# Runs in a subshell so its EXIT trap (removing the scratch module) cannot clash with callers'.
build_helm() (
  for c in timeout awk sed; do command -v "$c" >/dev/null 2>&1 || die "required command '$c' not found"; done
  local go work t0 json gomod goline client_go major minor blog rc=0
  go=$(find_go "helm")
  t0=$(now)
  work=$(mktemp -d "${TMPDIR:-/tmp}/flex-auth-helm-build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  mkdir -p "$CACHE_DIR"
  blog=$CACHE_DIR/build.log
  : >"$blog"
  log "building helm $HELM_VERSION with $("$go" env GOVERSION) (a cold build takes several minutes; log: $blog)"

  json=$(cd / && GOFLAGS=-mod=mod "$go" mod download -json "helm.sh/helm/v3@$HELM_VERSION" 2>&1) ||
    die "go mod download helm.sh/helm/v3@$HELM_VERSION failed: $json"
  gomod=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p' | head -n1)
  [[ -n $gomod && -f $gomod ]] || die "could not find go.mod of helm.sh/helm/v3@$HELM_VERSION in: $json"
  # A dependency's replace directives are ignored; Helm has none (checked, so a future one is not silently lost).
  if grep -Eq '^[[:space:]]*replace([[:space:]]|\()' "$gomod"; then
    die "helm $HELM_VERSION's go.mod has replace directives; copy them into the throwaway module in $0"
  fi
  goline=$(awk '$1 == "go" { print $2; exit }' "$gomod")
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  [[ $client_go =~ ^v0\.([0-9]+)\.[0-9]+ ]] || die "could not find k8s.io/client-go's version in $gomod"
  major=1 minor=${BASH_REMATCH[1]}

  mkdir -p "$work/mod" "$work/out"
  printf 'module flexauth.invalid/helm\n\ngo %s\n\nrequire helm.sh/helm/v3 %s\n' "${goline:-1.24}" "$HELM_VERSION" >"$work/mod/go.mod"

  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"

  log "go build helm.sh/helm/v3/cmd/helm@$HELM_VERSION (client-go $client_go, so Kubernetes $major.$minor by default) ..."
  (cd "$work/mod" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
    timeout --kill-after=30 "$BUILD_TIMEOUT" "$go" build -trimpath -ldflags="$ldflags" -o "$work/out/helm" helm.sh/helm/v3/cmd/helm) \
    >>"$blog" 2>&1 || rc=$?
  if ((rc != 0)); then
    tail -n 60 "$blog" >&2 || true
    die "building helm $HELM_VERSION failed (exit $rc; 124 = timed out after ${BUILD_TIMEOUT}s)"
  fi
  cp "$work/out/helm" "$CACHE_DIR/.helm.tmp.$$"
  chmod 0755 "$CACHE_DIR/.helm.tmp.$$"
  mv -f "$CACHE_DIR/.helm.tmp.$$" "$HELM_BIN"
  log "build done in $(elapsed "$t0")s -> $HELM_BIN"
)

ensure_helm() {
  ensure_built "$CACHE_DIR" helm_ready build_helm "helm $HELM_VERSION"
}

main() {
  local cmd=${1:-build}
  (($# > 0)) && shift
  case $cmd in
    build | path) ensure_helm; printf '%s\n' "$HELM_BIN" ;;
    version) ensure_helm; "$HELM_BIN" version ;;
    run) [[ ${1:-} == -- ]] && shift; ensure_helm; exec "$HELM_BIN" "$@" ;;
    -h | --help | help) usage ;;
    *) log "unknown subcommand '$cmd'"; usage ;;
  esac
}

main "$@"
