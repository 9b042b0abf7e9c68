# shellcheck shell=bash
# Shared by the scripts that build test tools from the Go module proxy and cache them by
# version (k8s-test-env.sh, helm.sh). Source it after setting PROG; it defines:
#   log, die             messages on stderr, prefixed with $PROG
#   usage                the calling script's header comment, then exit 2
#   now, elapsed T0      wall-clock seconds, and the time since T0 to one decimal
#   find_go WHAT         the go binary ($GO, go on PATH, /usr/local/go/bin/go), or die
#   ensure_built DIR READY BUILD LABEL
#                        run BUILD unless READY succeeds, at most one build per DIR at a time
#                        (flock, waiting up to $BUILD_TIMEOUT s for another build), then check READY

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

find_go() {
  if [[ -n ${GO:-} ]]; then printf '%s' "$GO"; return; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then printf '%s' /usr/local/go/bin/go; return; fi
  die "go not found (set GO=/path/to/go); it is needed to build $1"
}

ensure_built() {
  local dir=$1 ready=$2 build=$3 label=$4 lockfd
  if "$ready"; then return 0; fi
  mkdir -p "$dir"
  if command -v flock >/dev/null 2>&1; then
    exec {lockfd}>"$dir/.build.lock"
    if ! flock -n "$lockfd"; then
      log "another build of $label is running; waiting for it ..."
      flock -w "${BUILD_TIMEOUT:-3600}" "$lockfd" || die "timed out waiting for the build lock $dir/.build.lock"
    fi
    if ! "$ready"; then "$build"; fi
    exec {lockfd}>&-
  else
    "$build"
  fi
  "$ready" || die "$label missing after the build in $dir"
}
