#!/usr/bin/env bash
# k8s-test-env.sh — a real Kubernetes API server + etcd on loopback for tests
# (in the spirit of controller-runtime's envtest), built from source through the
# Go module proxy and cached per version.
#
# Usage:
#   scripts/k8s-test-env.sh build                 ensure etcd + kube-apiserver are built and cached;
#                                                 print their paths and versions
#   scripts/k8s-test-env.sh up DIR                build if needed, generate PKI/tokens in DIR, start
#                                                 etcd + kube-apiserver on 127.0.0.1, wait for /readyz,
#                                                 write DIR/admin.kubeconfig and DIR/env; leave running
#   scripts/k8s-test-env.sh stop-apiserver DIR    SIGTERM the kube-apiserver only and wait for it to exit
#   scripts/k8s-test-env.sh start-apiserver DIR   restart it with exactly the same port and args, wait for /readyz
#   scripts/k8s-test-env.sh status DIR            print whether etcd / kube-apiserver are running
#   scripts/k8s-test-env.sh down DIR              stop both and wait for them to exit (DIR is kept)
#   scripts/k8s-test-env.sh run -- CMD [ARGS...]  temp DIR + up, export DIR/env (KUBECONFIG = admin),
#                                                 run CMD, then down + remove DIR on any exit;
#                                                 exits with CMD's exit code
#
# DIR/env (shell-sourceable, no secrets in it):
#   K8S_TEST_ENV_DIR, KUBECONFIG (admin kubeconfig), K8S_API_URL, K8S_API_HOST, K8S_API_PORT,
#   K8S_CA_FILE, K8S_ADMIN_TOKEN_FILE, K8S_ETCD_URL, K8S_SA_ISSUER, K8S_VERSION, ETCD_VERSION
#
# Environment knobs:
#   K8S_VERSION, ETCD_VERSION       versions to build (defaults pinned below; if only K8S_VERSION is
#                                   given, ETCD_VERSION is taken from that kubernetes' go.mod)
#   GO                              go binary (default: `go` on PATH, else /usr/local/go/bin/go)
#   XDG_CACHE_HOME                  binaries go to ${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/k8s/<k8s-version>/
#   K8S_TEST_ENV_BUILD_TIMEOUT      seconds for a cold build (default 3600)
#   K8S_TEST_ENV_START_TIMEOUT      seconds to wait for etcd health / apiserver /readyz (default 60)
#   K8S_TEST_ENV_STOP_TIMEOUT       seconds to wait for a process to exit after SIGTERM before SIGKILL (default 30)
#
# Requires: bash, openssl, curl, node or python3 (to pick free ports); go only for a build.
# Everything listens on 127.0.0.1 only.
set -euo pipefail

readonly DEFAULT_K8S_VERSION=v1.34.4
readonly DEFAULT_ETCD_VERSION=v3.6.4   # = go.etcd.io/etcd/server/v3 in k8s.io/kubernetes v1.34.4's go.mod
readonly SA_ISSUER=https://kubernetes.default.svc.cluster.local
readonly SERVICE_CIDR=10.0.0.0/24

BUILD_TIMEOUT=${K8S_TEST_ENV_BUILD_TIMEOUT:-3600}
START_TIMEOUT=${K8S_TEST_ENV_START_TIMEOUT:-60}
STOP_TIMEOUT=${K8S_TEST_ENV_STOP_TIMEOUT:-30}

PROG=k8s-test-env
# shellcheck source-path=SCRIPTDIR source=lib/go-build-cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-build-cache.sh"




# Print the last lines of a log file to stderr (used on every failure).
tail_log() {
  local f=$1 n=${2:-40}
  if [[ -s $f ]]; then
    printf '%s: ---- last %s lines of %s ----\n' "$PROG" "$n" "$f" >&2
    tail -n "$n" "$f" >&2 || true
    printf '%s: ---- end of %s ----\n' "$PROG" "$f" >&2
  fi
}

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "required command '$c' not found (e.g. apt-get install $c)"
  done
}

# ---------------------------------------------------------------------------
# versions / cache
# ---------------------------------------------------------------------------


# Downloads k8s.io/kubernetes@$K8S_VERSION via the module proxy; prints the path of its go.mod.
k8s_gomod() {
  local go json gomod
  go=$(find_go "etcd and kube-apiserver")
  json=$(cd / && GOFLAGS=-mod=mod "$go" mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>&1) ||
    die "go mod download k8s.io/kubernetes@$K8S_VERSION failed: $json"
  gomod=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p' | head -n1)
  [[ -n $gomod && -f $gomod ]] || die "could not find go.mod of k8s.io/kubernetes@$K8S_VERSION in: $json"
  printf '%s' "$gomod"
}

resolve_versions() {
  if [[ -z ${K8S_VERSION:-} ]]; then
    K8S_VERSION=$DEFAULT_K8S_VERSION
    ETCD_VERSION=${ETCD_VERSION:-$DEFAULT_ETCD_VERSION}
  fi
  [[ $K8S_VERSION =~ ^v1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "K8S_VERSION must look like v1.34.4 (got '$K8S_VERSION')"
  CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/flex-auth/k8s/$K8S_VERSION
  ETCD_BIN=$CACHE_DIR/etcd
  APISERVER_BIN=$CACHE_DIR/kube-apiserver
  if [[ -z ${ETCD_VERSION:-} ]]; then
    # Same etcd server version as kubernetes' own go.mod; reuse the cached choice if any.
    if [[ -s $CACHE_DIR/etcd.version && -x $ETCD_BIN ]]; then
      ETCD_VERSION=$(<"$CACHE_DIR/etcd.version")
    else
      local gomod
      gomod=$(k8s_gomod)
      ETCD_VERSION=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$gomod")
      [[ -n $ETCD_VERSION ]] || ETCD_VERSION=$(awk '$1 == "go.etcd.io/etcd/client/v3" { print $2; exit }' "$gomod")
      [[ -n $ETCD_VERSION ]] || die "could not find an etcd version in $gomod; set ETCD_VERSION"
    fi
  fi
  [[ $ETCD_VERSION =~ ^v3\.[0-9]+\.[0-9]+ ]] || die "ETCD_VERSION must look like v3.6.4 (got '$ETCD_VERSION')"
}

binaries_ready() {
  [[ -x $ETCD_BIN && -x $APISERVER_BIN && -s $CACHE_DIR/etcd.version ]] &&
    [[ $(<"$CACHE_DIR/etcd.version") == "$ETCD_VERSION" ]]
}

# go build with a timeout, in module dir $1; remaining args go to `go build`.
go_build_in() {
  local dir=$1; shift
  local go; go=$(find_go "etcd and kube-apiserver")
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
    timeout --kill-after=30 "$BUILD_TIMEOUT" "$go" build -trimpath "$@")
}

# Runs in a subshell so its EXIT trap (removing the scratch module dir) cannot clash with callers'.
build_binaries() (
  need timeout awk sed
  local go work t0 gomod minor rc=0
  go=$(find_go "etcd and kube-apiserver")
  t0=$(now)
  work=$(mktemp -d "${TMPDIR:-/tmp}/flex-auth-k8s-build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  mkdir -p "$CACHE_DIR"
  local blog=$CACHE_DIR/build.log
  : >"$blog"
  log "building etcd $ETCD_VERSION and kube-apiserver $K8S_VERSION with $("$go" env GOVERSION) (a cold build takes several minutes; log: $blog)"

  # etcd: its own throwaway module, so its dependency graph is not mixed with kubernetes'.
  mkdir -p "$work/etcd" "$work/apiserver" "$work/out"
  cat >"$work/etcd/go.mod" <<EOF
module flexauth.invalid/k8s-test-env/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  # kube-apiserver: a dependency's replace lines are ignored, so map every staging module
  # (k8s.io/X v0.0.0 => ./staging/src/k8s.io/X in kubernetes' go.mod) to its published v0.MINOR.PATCH.
  gomod=$(k8s_gomod)
  local staging_version=v0.${K8S_VERSION#v1.}
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  {
    printf 'module flexauth.invalid/k8s-test-env/apiserver\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    awk -v v="$staging_version" '
      /=>[[:space:]]*\.\/staging\// {
        line = $0; sub(/^[[:space:]]*replace[[:space:]]+/, "", line); split(line, f, /[[:space:]]+/)
        for (i = 1; i <= length(f); i++) if (f[i] != "") { print "\t" f[i] " => " f[i] " " v; break }
      }' "$gomod"
    printf ')\n'
  } >"$work/apiserver/go.mod"
  local n; n=$(grep -c ' => ' "$work/apiserver/go.mod" || true)
  (( n > 0 )) || die "found no staging replace lines in $gomod"
  log "kube-apiserver module: $n staging replaces -> $staging_version"

  local vpkg ldflags_k8s
  ldflags_k8s="-s -w"
  for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags_k8s+=" -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
    ldflags_k8s+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done

  log "go build etcd ($ETCD_VERSION) ..."
  go_build_in "$work/etcd" -ldflags="-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3 \
    >>"$blog" 2>&1 || rc=$?
  if (( rc != 0 )); then
    tail_log "$blog" 60
    die "building etcd $ETCD_VERSION failed (exit $rc; 124 = timed out after ${BUILD_TIMEOUT}s)"
  fi
  log "etcd built after $(elapsed "$t0")s; go build kube-apiserver ($K8S_VERSION) ..."
  go_build_in "$work/apiserver" -ldflags="$ldflags_k8s" -o "$work/out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
    >>"$blog" 2>&1 || rc=$?
  if (( rc != 0 )); then
    tail_log "$blog" 60
    die "building kube-apiserver $K8S_VERSION failed (exit $rc; 124 = timed out after ${BUILD_TIMEOUT}s)"
  fi

  mkdir -p "$CACHE_DIR"
  local b
  for b in etcd kube-apiserver; do
    cp "$work/out/$b" "$CACHE_DIR/.$b.tmp.$$"
    chmod 0755 "$CACHE_DIR/.$b.tmp.$$"
    mv -f "$CACHE_DIR/.$b.tmp.$$" "$CACHE_DIR/$b"
  done
  printf '%s\n' "$ETCD_VERSION" >"$CACHE_DIR/etcd.version"
  log "build done in $(elapsed "$t0")s -> $CACHE_DIR"
)

ensure_binaries() {
  resolve_versions
  ensure_built "$CACHE_DIR" binaries_ready build_binaries "kubernetes $K8S_VERSION"
}

cmd_build() {
  local t0; t0=$(now)
  ensure_binaries
  printf 'etcd            %s\n' "$ETCD_BIN"
  printf '                %s\n' "$("$ETCD_BIN" --version 2>&1 | head -n1)"
  printf 'kube-apiserver  %s\n' "$APISERVER_BIN"
  printf '                %s\n' "$("$APISERVER_BIN" --version 2>&1 | head -n1)"
  log "build: ready in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

# pid_alive PIDFILE BINARY: true if the pid in PIDFILE is running BINARY (and is not a zombie).
pid_alive() {
  local pidfile=$1 bin=$2 pid exe state
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -e /proc/$pid ]] || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [[ $exe == "$bin" ]]
}

# start_bg NAME BINARY ARGS...: start detached (own session, reparented to init), stdio to DIR/NAME.log.
start_bg() {
  local name=$1 bin=$2; shift 2
  local pidfile=$DIR/$name.pid logf=$DIR/$name.log
  printf '\n==== %s start %s ====\n' "$name" "$(date -u +%FT%TZ)" >>"$logf"
  (
    # etcd reads every ETCD_* environment variable as a flag: start it with none.
    local v
    for v in $(compgen -e ETCD_ || true); do unset "$v"; done
    setsid "$bin" "$@" >>"$logf" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$pidfile"
  )
  # Right after the fork the child is still bash/setsid; wait until it has exec'd $bin (or died),
  # so that pid_alive's identity check is meaningful from here on.
  local pid exe i
  pid=$(<"$pidfile")
  for ((i = 0; i < 100; i++)); do
    [[ -e /proc/$pid ]] || return 0
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
    [[ ${exe% (deleted)} == "$bin" ]] && return 0
    sleep 0.05
  done
  log "warning: $name (pid $pid) has not exec'd $bin after 5s"
}

# pid_exited PID: true once PID is gone or a zombie (a zombie has already closed its sockets).
pid_exited() {
  local state
  [[ -e /proc/$1 ]] || return 0
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ $state == Z || $state == X ]]
}

# stop_proc NAME BINARY: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; wait for exit.
# Only signals the pid in DIR/NAME.pid if that process really is BINARY.
stop_proc() {
  local name=$1 bin=$2 pidfile=$DIR/$1.pid pid deadline
  if ! pid_alive "$pidfile" "$bin"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  until pid_exited "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) did not exit within ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
      tail_log "$DIR/$name.log" 20
      kill -KILL "$pid" 2>/dev/null || true
      local d2=$((SECONDS + 10))
      until pid_exited "$pid"; do
        ((SECONDS < d2)) || die "$name (pid $pid) survived SIGKILL"
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
}

# ---------------------------------------------------------------------------
# env directory
# ---------------------------------------------------------------------------

# set_dir PATH [create]
set_dir() {
  [[ -n ${1:-} ]] || usage
  if [[ ${2:-} == create ]]; then mkdir -p "$1"; fi
  [[ -d $1 ]] || die "no such directory: $1"
  DIR=$(cd "$1" && pwd -P)
}

# EXIT trap while up/start-apiserver is in progress: stop whatever was started if we fail.
abort_start() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)); then
    log "startup failed; stopping what was started in $DIR"
    if [[ ${ABORT_STOP_ETCD:-0} == 1 ]]; then
      (stop_proc kube-apiserver "$APISERVER_BIN"; stop_proc etcd "$ETCD_BIN") || true
    else
      (stop_proc kube-apiserver "$APISERVER_BIN") || true
    fi
  fi
  exit "$rc"
}

load_state() {
  [[ -f $DIR/state ]] || die "$DIR is not a k8s-test-env directory (no $DIR/state); run '$0 up $DIR' first"
  # shellcheck disable=SC1091
  source "$DIR/state"
}

free_ports() {
  local n=$1 out
  if command -v node >/dev/null 2>&1; then
    out=$(node -e '
      const net = require("net"); const n = +process.argv[1]; const srvs = [];
      const next = () => { if (srvs.length === n) { console.log(srvs.map(s => s.address().port).join(" ")); srvs.forEach(s => s.close()); return; }
        const s = net.createServer(); s.on("error", e => { console.error(e.message); process.exit(1); });
        s.listen(0, "127.0.0.1", () => { srvs.push(s); next(); }); };
      next();' "$n") || die "could not pick free ports with node"
  elif command -v python3 >/dev/null 2>&1; then
    out=$(python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$n") || die "could not pick free ports with python3"
  else
    die "need node or python3 to pick free ports"
  fi
  printf '%s' "$out"
}

gen_pki() {
  local pki=$DIR/pki
  mkdir -p "$pki"
  (
    umask 077
    set -e
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=flex-auth-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" \
      -subj "/CN=kube-apiserver"
    printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >"$pki/apiserver.ext"
    openssl x509 -req -sha256 -days 365 -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key"
    openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
    chmod 0644 "$pki/ca.crt" "$pki/apiserver.crt" "$pki/sa.pub"
  ) >"$DIR/pki.log" 2>&1 || { tail_log "$DIR/pki.log"; die "openssl failed generating certificates in $pki"; }
}

write_kubeconfig() {
  local file=$1 user=$2 token=$3 ca_data
  ca_data=$(base64 -w0 <"$DIR/pki/ca.crt")
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: flex-auth-test
  cluster:
    server: $K8S_API_URL
    certificate-authority-data: $ca_data
users:
- name: $user
  user:
    token: $token
contexts:
- name: flex-auth-test
  context:
    cluster: flex-auth-test
    user: $user
current-context: flex-auth-test
EOF
  )
}

wait_etcd() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if curl -fsS --max-time 2 "$K8S_ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; then return 0; fi
    if ! pid_alive "$DIR/etcd.pid" "$ETCD_BIN"; then
      tail_log "$DIR/etcd.log"
      die "etcd exited during startup (log: $DIR/etcd.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail_log "$DIR/etcd.log"
      die "etcd not healthy at $K8S_ETCD_URL after ${START_TIMEOUT}s (log: $DIR/etcd.log)"
    fi
    sleep 0.2
  done
}

wait_apiserver() {
  local deadline=$((SECONDS + START_TIMEOUT)) out=""
  while :; do
    # -H @file keeps the token off the command line.
    if out=$(curl -sS --max-time 3 --cacert "$DIR/pki/ca.crt" -H "@$DIR/admin.auth-header" \
      "$K8S_API_URL/readyz" 2>&1) && [[ $out == ok ]]; then
      return 0
    fi
    if ! pid_alive "$DIR/kube-apiserver.pid" "$APISERVER_BIN"; then
      tail_log "$DIR/kube-apiserver.log"
      die "kube-apiserver exited during startup (log: $DIR/kube-apiserver.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail_log "$DIR/kube-apiserver.log"
      if [[ -n $out ]]; then
        local failed
        failed=$(printf '%s\n' "$out" | grep -E '^\[-\]' || true)
        log "last /readyz answer: $(if [[ -n $failed ]]; then printf '%s' "$failed"; else printf '%s' "$out" | tail -n 15; fi)"
      fi
      die "kube-apiserver not ready at $K8S_API_URL/readyz after ${START_TIMEOUT}s (log: $DIR/kube-apiserver.log)"
    fi
    sleep 0.25
  done
}

start_apiserver_proc() {
  [[ -s $DIR/kube-apiserver.args ]] || die "missing $DIR/kube-apiserver.args"
  local -a args
  mapfile -t args <"$DIR/kube-apiserver.args"
  start_bg kube-apiserver "$APISERVER_BIN" "${args[@]}"
  wait_apiserver
}

cmd_up() {
  set_dir "${1:-}" create
  need openssl curl base64 setsid awk
  local t0; t0=$(now)
  ensure_binaries
  local t1; t1=$(now)

  if [[ -f $DIR/state ]]; then
    # shellcheck disable=SC1091
    (source "$DIR/state"; pid_alive "$DIR/etcd.pid" "$ETCD_BIN" || pid_alive "$DIR/kube-apiserver.pid" "$APISERVER_BIN") &&
      die "an environment is already running in $DIR; run '$0 down $DIR' first"
    rm -rf "$DIR/pki" "$DIR/etcd-data" "$DIR/apiserver-certs"
    rm -f "$DIR"/{state,env,admin.kubeconfig,admin.token,admin.auth-header,tokens.csv,kube-apiserver.args} \
      "$DIR"/{etcd,kube-apiserver}.{pid,log} "$DIR/pki.log"
  elif [[ -n $(ls -A "$DIR") ]]; then
    die "$DIR is not empty and is not a k8s-test-env directory; give an empty or new directory"
  fi

  ABORT_STOP_ETCD=1
  trap abort_start EXIT
  gen_pki

  local token
  token=$(openssl rand -hex 32)
  (
    umask 077
    printf '%s\n' "$token" >"$DIR/admin.token"
    printf '%s,admin,admin,"system:masters"\n' "$token" >"$DIR/tokens.csv"
    printf 'Authorization: Bearer %s\n' "$token" >"$DIR/admin.auth-header"
  )

  local ports etcd_port peer_port api_port
  ports=$(free_ports 3)
  read -r etcd_port peer_port api_port <<<"$ports"
  [[ -n $api_port ]] || die "could not pick free ports (got '$ports')"

  K8S_API_HOST=127.0.0.1
  K8S_API_PORT=$api_port
  K8S_API_URL=https://127.0.0.1:$api_port
  K8S_ETCD_URL=http://127.0.0.1:$etcd_port
  {
    printf 'ETCD_BIN=%q\nAPISERVER_BIN=%q\n' "$ETCD_BIN" "$APISERVER_BIN"
    printf 'K8S_VERSION=%q\nETCD_VERSION=%q\n' "$K8S_VERSION" "$ETCD_VERSION"
    printf 'K8S_API_HOST=%q\nK8S_API_PORT=%q\nK8S_API_URL=%q\nK8S_ETCD_URL=%q\n' \
      "$K8S_API_HOST" "$K8S_API_PORT" "$K8S_API_URL" "$K8S_ETCD_URL"
    printf 'ETCD_PEER_PORT=%q\n' "$peer_port"
  } >"$DIR/state"

  # etcd: loopback only, data in DIR. --unsafe-no-fsync: throwaway test data, much faster.
  start_bg etcd "$ETCD_BIN" \
    --name=flex-auth-test \
    --data-dir="$DIR/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" \
    --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="flex-auth-test=http://127.0.0.1:$peer_port" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_etcd

  local pki=$DIR/pki
  printf '%s\n' \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$api_port" \
    --etcd-servers="$K8S_ETCD_URL" \
    --authorization-mode=Node,RBAC \
    --token-auth-file="$DIR/tokens.csv" \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" \
    --service-account-issuer="$SA_ISSUER" \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cert-dir="$DIR/apiserver-certs" \
    --endpoint-reconciler-type=none \
    --profiling=false \
    >"$DIR/kube-apiserver.args"

  start_apiserver_proc
  trap - EXIT

  write_kubeconfig "$DIR/admin.kubeconfig" admin "$token"
  {
    printf 'export K8S_TEST_ENV_DIR=%q\n' "$DIR"
    printf 'export KUBECONFIG=%q\n' "$DIR/admin.kubeconfig"
    printf 'export K8S_API_URL=%q\n' "$K8S_API_URL"
    printf 'export K8S_API_HOST=%q\n' "$K8S_API_HOST"
    printf 'export K8S_API_PORT=%q\n' "$K8S_API_PORT"
    printf 'export K8S_CA_FILE=%q\n' "$pki/ca.crt"
    printf 'export K8S_ADMIN_TOKEN_FILE=%q\n' "$DIR/admin.token"
    printf 'export K8S_ETCD_URL=%q\n' "$K8S_ETCD_URL"
    printf 'export K8S_SA_ISSUER=%q\n' "$SA_ISSUER"
    printf 'export K8S_VERSION=%q\n' "$K8S_VERSION"
    printf 'export ETCD_VERSION=%q\n' "$ETCD_VERSION"
  } >"$DIR/env"
  cat "$DIR/env"
  log "up: kube-apiserver $K8S_VERSION ready at $K8S_API_URL, etcd $ETCD_VERSION at $K8S_ETCD_URL" \
    "(start $(elapsed "$t1")s, total $(elapsed "$t0")s); source $DIR/env"
}

cmd_stop_apiserver() {
  set_dir "${1:-}"
  load_state
  local t0; t0=$(now)
  stop_proc kube-apiserver "$APISERVER_BIN"
  log "stop-apiserver: kube-apiserver stopped in $(elapsed "$t0")s (etcd still running)"
}

cmd_start_apiserver() {
  set_dir "${1:-}"
  load_state
  need curl setsid
  local t0; t0=$(now)
  pid_alive "$DIR/etcd.pid" "$ETCD_BIN" || die "etcd is not running in $DIR; run '$0 up $DIR' instead"
  pid_alive "$DIR/kube-apiserver.pid" "$APISERVER_BIN" && die "kube-apiserver is already running in $DIR"
  ABORT_STOP_ETCD=0
  trap abort_start EXIT
  start_apiserver_proc
  trap - EXIT
  log "start-apiserver: ready at $K8S_API_URL in $(elapsed "$t0")s"
}

cmd_status() {
  set_dir "${1:-}"
  load_state
  local rc=0
  if pid_alive "$DIR/etcd.pid" "$ETCD_BIN"; then echo "etcd: running (pid $(<"$DIR/etcd.pid"), $K8S_ETCD_URL)"; else echo "etcd: stopped"; rc=3; fi
  if pid_alive "$DIR/kube-apiserver.pid" "$APISERVER_BIN"; then echo "kube-apiserver: running (pid $(<"$DIR/kube-apiserver.pid"), $K8S_API_URL)"; else echo "kube-apiserver: stopped"; rc=3; fi
  return "$rc"
}

cmd_down() {
  set_dir "${1:-}"
  [[ -f $DIR/state ]] || { log "down: nothing to do in $DIR (no state file)"; return 0; }
  load_state
  local t0; t0=$(now)
  stop_proc kube-apiserver "$APISERVER_BIN"
  stop_proc etcd "$ETCD_BIN"
  log "down: stopped in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------
# run -- CMD
# ---------------------------------------------------------------------------

RUN_DIR=""
RUN_CHILD=""

run_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $RUN_CHILD ]] && kill -0 "$RUN_CHILD" 2>/dev/null; then
    kill -TERM "$RUN_CHILD" 2>/dev/null || true
    wait "$RUN_CHILD" 2>/dev/null || true
  fi
  if [[ -n $RUN_DIR && -d $RUN_DIR ]]; then
    (cmd_down "$RUN_DIR") || log "run: down failed for $RUN_DIR"
    rm -rf "$RUN_DIR"
  fi
  exit "$rc"
}

run_signal() {
  local sig=$1 code=$2
  if [[ -n $RUN_CHILD ]] && kill -0 "$RUN_CHILD" 2>/dev/null; then
    # Background commands of a non-interactive shell ignore SIGINT, so always forward SIGTERM.
    log "run: got SIG$sig; sending SIGTERM to the command (pid $RUN_CHILD)"
    kill -TERM "$RUN_CHILD" 2>/dev/null || true   # the wait loop then collects its exit code
  else
    exit "$code"
  fi
}

cmd_run() {
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || usage
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/flex-auth-k8s.XXXXXX")
  trap run_cleanup EXIT
  trap 'run_signal INT 130' INT
  trap 'run_signal TERM 143' TERM
  (cmd_up "$RUN_DIR") >/dev/null
  set -a
  # shellcheck disable=SC1091
  source "$RUN_DIR/env"
  set +a
  local rc=0
  "$@" <&0 &
  RUN_CHILD=$!
  while :; do
    rc=0
    wait "$RUN_CHILD" || rc=$?
    # wait returns >128 early when a trapped signal arrives; keep waiting until the child is gone.
    if ((rc > 128)) && kill -0 "$RUN_CHILD" 2>/dev/null; then continue; fi
    break
  done
  RUN_CHILD=""
  exit "$rc"
}

main() {
  local cmd=${1:-}
  (($# > 0)) && shift
  case $cmd in
    build) cmd_build ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    stop-apiserver) cmd_stop_apiserver "$@" ;;
    start-apiserver) cmd_start_apiserver "$@" ;;
    status) cmd_status "$@" ;;
    run) cmd_run "$@" ;;
    -h | --help | help | "") usage ;;
    *) log "unknown subcommand '$cmd'"; usage ;;
  esac
}

main "$@"
