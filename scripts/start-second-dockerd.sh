#!/usr/bin/env bash
# Starts a second Docker engine beside the machine's own, listening on tcp://127.0.0.1:PORT
# (loopback only) and unix:///var/run/gobuild-cnb-docker2.sock, to test builds against a remote
# engine (DOCKER_HOST=tcp://...). It shares nothing with the first engine: its own data root,
# exec root, pid file and managed containerd (started under its exec root), its own bridge
# (gcnb-docker2) and no iptables rules, so it leaves the first engine's networking alone.
# Needs root, like any dockerd.
#
#   scripts/start-second-dockerd.sh [--port PORT] [IMAGE...]
#       start it (idempotent) and copy each IMAGE from the first engine (the one the docker CLI
#       reaches from the caller's environment) when the second one lacks it or holds another ID.
#       The data root persists, so images are copied once per machine.
#   scripts/start-second-dockerd.sh --stop
#
# stdout: the DOCKER_HOST value (tcp://127.0.0.1:PORT). Log: /var/log/gobuild-cnb-docker2.log.
# PORT defaults to $GOBUILD_CNB_DOCKER2_PORT, else 23750.
set -euo pipefail
SCRIPT_NAME=start-second-dockerd
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

NAME=gobuild-cnb-docker2
DATA_ROOT=/var/lib/$NAME
EXEC_ROOT=/var/run/$NAME
PID_FILE=/var/run/$NAME.pid
SOCKET=/var/run/$NAME.sock
LOG_FILE=/var/log/$NAME.log
# Our own (empty) daemon.json: /etc/docker/daemon.json is the first engine's and may name hosts.
CONFIG_FILE=$DATA_ROOT/daemon.json
BRIDGE=gcnb-docker2
BRIDGE_CIDR=172.31.254.1/24
START_WAIT_SECONDS=60
STOP_WAIT_SECONDS=30
COPY_WAIT_SECONDS=600

usage() {
  say "usage: $0 [--port PORT] [IMAGE...] | --stop"
  exit 2
}

port=${GOBUILD_CNB_DOCKER2_PORT:-23750}
action=start
images=()
while [ $# -gt 0 ]; do
  case $1 in
    --stop) action=stop ;;
    --port)
      [ $# -ge 2 ] || usage
      port=$2
      shift
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) images+=("$1") ;;
  esac
  shift
done
case $port in *[!0-9]* | '') fail "--port needs a number, got '$port'" ;; esac
tcp_host=tcp://127.0.0.1:$port

# The pid in a process's pid file, if it is alive and really is the process we expect; a stale
# file (an interrupted run, a reused pid) is removed so the next start is not refused.
live_pid() {
  local pid_file=$1 marker=$2 pid
  [ -s "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  if [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then
    echo "$pid"
    return 0
  fi
  rm -f "$pid_file"
  return 1
}
dockerd_pid() { live_pid "$PID_FILE" "--pidfile $PID_FILE"; }
containerd_pid() { live_pid "$EXEC_ROOT/containerd/containerd.pid" "$EXEC_ROOT/containerd/"; }

second() { timeout 20 docker -H "unix://$SOCKET" "$@"; }
# Our daemon answers on the TCP port (its data root tells it apart from any other engine there).
answers_on_port() {
  [ "$(timeout 10 docker -H "$tcp_host" info --format '{{.DockerRootDir}}' 2>/dev/null)" = "$DATA_ROOT" ]
}
port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; }

# wait_gone PID SECONDS: true once the process has exited.
wait_gone() {
  local pid=$1 tenths=$(($2 * 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$tenths" -gt 0 ] || return 1
    sleep 0.1
    tenths=$((tenths - 1))
  done
}

stop_dockerd() {
  local pid
  if pid=$(dockerd_pid); then
    kill "$pid"
    if ! wait_gone "$pid" "$STOP_WAIT_SECONDS"; then
      say "dockerd (pid $pid) did not stop within $STOP_WAIT_SECONDS s; killing it"
      kill -9 "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
    say "stopped the second engine (pid $pid)"
  fi
  rm -f "$PID_FILE"
  # A dockerd that was killed leaves its managed containerd behind.
  if pid=$(containerd_pid); then
    kill "$pid"
    wait_gone "$pid" 10 || kill -9 "$pid" 2>/dev/null || true
    say "stopped its containerd (pid $pid)"
  fi
}

start_dockerd() {
  local pid deadline
  if dockerd_pid >/dev/null; then
    # Running (or still starting): keep it if it answers on this port, else start afresh.
    local deadline=$((SECONDS + 10))
    until second version >/dev/null 2>&1 || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
    if answers_on_port; then
      say "already running on $tcp_host (pid $(dockerd_pid))"
      return
    fi
    say "it runs, but not on $tcp_host: restarting it"
  fi
  stop_dockerd
  port_in_use && fail "something else listens on 127.0.0.1:$port; choose another port (--port or GOBUILD_CNB_DOCKER2_PORT)"
  command -v dockerd >/dev/null 2>&1 || fail "dockerd is missing; run scripts/setup-docker.sh first"
  is_root || fail "a dockerd must be started as root"
  mkdir -p "$DATA_ROOT"
  [ -s "$CONFIG_FILE" ] || echo '{}' >"$CONFIG_FILE"
  # Its own bridge: with `--bridge none` dockerd deletes any interface named docker0, which
  # would cut the FIRST engine's containers off the network.
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  say "starting a second dockerd on $tcp_host; its log is $LOG_FILE"
  # setsid + nohup: the daemon outlives this script and the process group that ran it.
  setsid nohup dockerd \
    --host "$tcp_host" --host "unix://$SOCKET" \
    --config-file "$CONFIG_FILE" \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PID_FILE" \
    --bridge "$BRIDGE" --iptables=false --ip-masq=false --ip-forward=false \
    --shutdown-timeout 5 \
    >>"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  deadline=$((SECONDS + START_WAIT_SECONDS))
  until answers_on_port; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 15 "$LOG_FILE" >&2
      fail "the second dockerd exited (full log: $LOG_FILE)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 15 "$LOG_FILE" >&2
      stop_dockerd
      fail "the second dockerd did not answer on $tcp_host within $START_WAIT_SECONDS s"
    fi
    sleep 0.2
  done
  say "running on $tcp_host (pid $pid, data in $DATA_ROOT)"
}

# Copies the images the second engine lacks (or holds under another ID) in one save | load.
copy_images() {
  local image first_id second_id missing=() started=$SECONDS
  for image in "$@"; do
    first_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) ||
      fail "$image is not in the first engine; make it first (the test images: scripts/test-images.sh)"
    second_id=$(second image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$first_id" = "$second_id" ] || missing+=("$image")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "copying ${missing[*]} into the second engine (once per machine: its data root persists)"
  timeout "$COPY_WAIT_SECONDS" docker save "${missing[@]}" | timeout "$COPY_WAIT_SECONDS" docker -H "unix://$SOCKET" load >/dev/null
  say "   copied in $((SECONDS - started)) s"
}

case $action in
  start)
    start_dockerd
    [ ${#images[@]} -eq 0 ] || copy_images "${images[@]}"
    echo "$tcp_host"
    ;;
  stop) stop_dockerd ;;
esac
