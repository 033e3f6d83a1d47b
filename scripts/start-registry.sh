#!/usr/bin/env bash
# Starts a throwaway container registry (Debian's docker-registry, distribution 2.x) on
# 127.0.0.1:PORT for tests and local pushes: filesystem storage in a temp dir, delete enabled,
# plain HTTP (docker trusts 127.0.0.0/8 over HTTP), no auth unless --htpasswd is given.
# Idempotent: a registry already running on that port with the same settings is left alone.
#
#   scripts/start-registry.sh [PORT] [--htpasswd FILE]   start (PORT defaults to 5000)
#   scripts/start-registry.sh [PORT] --token-realm URL --token-cert CERT.pem
#       token auth instead: Bearer tokens from URL, JWTs signed with CERT's key (x5c header),
#       issuer gobuild-cnb-token-issuer, service gobuild-cnb-registry
#   scripts/start-registry.sh --stop [PORT]              stop it and remove its data
#
# stdout: the registry host (127.0.0.1:PORT). State lives in $GOBUILD_CNB_REGISTRY_DIR
# (default ${TMPDIR:-/tmp}/gobuild-cnb-registry-PORT): config.yml, data/, registry.pid, registry.log.
# htpasswd entries must be bcrypt (`htpasswd -B`, or python3's crypt with METHOD_BLOWFISH).
set -euo pipefail
SCRIPT_NAME=start-registry
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

REGISTRY_BIN=/usr/bin/docker-registry
WAIT_SECONDS=30

usage() {
  say "usage: $0 [PORT] [--htpasswd FILE | --token-realm URL --token-cert CERT.pem] | --stop [PORT]"
  exit 2
}

port=5000
htpasswd_file=
token_realm=
token_cert=
action=start
while [ $# -gt 0 ]; do
  case $1 in
    --stop) action=stop ;;
    --htpasswd)
      [ $# -ge 2 ] || usage
      htpasswd_file=$(realpath "$2")
      [ -r "$htpasswd_file" ] || fail "htpasswd file $2 is not readable"
      shift
      ;;
    --token-realm)
      [ $# -ge 2 ] || usage
      token_realm=$2
      shift
      ;;
    --token-cert)
      [ $# -ge 2 ] || usage
      token_cert=$(realpath "$2")
      [ -r "$token_cert" ] || fail "token certificate $2 is not readable"
      shift
      ;;
    -h | --help) usage ;;
    *[!0-9]* | '') usage ;;
    *) port=$1 ;;
  esac
  shift
done
if [ -n "$token_realm" ] || [ -n "$token_cert" ]; then
  if [ -z "$token_realm" ] || [ -z "$token_cert" ]; then fail "--token-realm and --token-cert go together"; fi
  [ -z "$htpasswd_file" ] || fail "choose --htpasswd or token auth, not both"
fi

host=127.0.0.1:$port
state_dir=${GOBUILD_CNB_REGISTRY_DIR:-${TMPDIR:-/tmp}/gobuild-cnb-registry-$port}
pid_file=$state_dir/registry.pid

running_pid() {
  local pid
  [ -r "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# Any HTTP status from /v2/ counts (401 when auth is on).
answers() {
  local status
  status=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$host/v2/" || true)
  [ "${status:-000}" != 000 ]
}

stop_registry() {
  local pid waited=0
  if pid=$(running_pid); then
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do
      [ "$waited" -lt 50 ] || { kill -9 "$pid" 2>/dev/null || true; break; }
      sleep 0.1
      waited=$((waited + 1))
    done
    say "stopped the registry on $host (pid $pid)"
  fi
  rm -rf "$state_dir"
}

write_config() {
  cat <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state_dir/data
  delete:
    enabled: true
http:
  addr: $host
EOF
  if [ -n "$htpasswd_file" ]; then
    cat <<EOF
auth:
  htpasswd:
    realm: gobuild-cnb-registry
    path: $htpasswd_file
EOF
  fi
  if [ -n "$token_realm" ]; then
    cat <<EOF
auth:
  token:
    realm: $token_realm
    service: gobuild-cnb-registry
    issuer: gobuild-cnb-token-issuer
    rootcertbundle: $token_cert
EOF
  fi
}

ensure_registry_binary() {
  [ -x "$REGISTRY_BIN" ] && return
  is_root || fail "$REGISTRY_BIN is missing; install Debian's docker-registry package (apt-get install docker-registry)"
  is_debian_like || fail "$REGISTRY_BIN is missing and this is not a Debian-like system; install a distribution registry"
  run_step "install docker-registry" apt_install docker-registry
}

start_registry() {
  local config pid waited=0
  config=$(write_config)
  if pid=$(running_pid) && [ "$(cat "$state_dir/config.yml" 2>/dev/null)" = "$config" ] && answers; then
    say "already running on $host (pid $pid)"
    echo "$host"
    return
  fi
  stop_registry
  answers && fail "something else answers on $host; pick another port"
  ensure_registry_binary
  mkdir -p "$state_dir/data"
  printf '%s\n' "$config" >"$state_dir/config.yml"
  # setsid: the registry outlives this script and the caller's process group.
  setsid "$REGISTRY_BIN" serve "$state_dir/config.yml" >"$state_dir/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  until answers; do
    kill -0 "$pid" 2>/dev/null || fail "the registry exited; its log ($state_dir/registry.log): $(tail -n 5 "$state_dir/registry.log")"
    [ "$waited" -lt $((WAIT_SECONDS * 10)) ] || { stop_registry; fail "the registry did not answer on http://$host/v2/ within ${WAIT_SECONDS} s"; }
    sleep 0.1
    waited=$((waited + 1))
  done
  say "registry running on $host (pid $pid, data in $state_dir/data${htpasswd_file:+, htpasswd auth}${token_realm:+, token auth})"
  echo "$host"
}

case $action in
  start) start_registry ;;
  stop) stop_registry ;;
esac
