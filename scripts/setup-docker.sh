#!/usr/bin/env bash
# Ensures a Docker engine answers (see docs/docker-engine.md). Idempotent:
#   - an engine already answers (DOCKER_HOST and docker contexts honoured): say so, change nothing;
#   - a Debian machine where we are root: install docker.io from Debian's packages when dockerd is
#     missing, start dockerd in the background (log: $GOBUILD_CNB_DOCKERD_LOG), wait until it answers;
#   - anywhere else: fail, saying what to install or how to set DOCKER_HOST.
# Environment: DOCKER_HOST, GOBUILD_CNB_DOCKERD_LOG, GOBUILD_CNB_DOCKERD_WAIT (seconds, default 60).
set -euo pipefail

SCRIPT_NAME=setup-docker
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

DEFAULT_SOCKET=unix:///var/run/docker.sock
DOCKERD_LOG=${GOBUILD_CNB_DOCKERD_LOG:-/var/log/gobuild-cnb-dockerd.log}
WAIT_SECONDS=${GOBUILD_CNB_DOCKERD_WAIT:-60}

report_engine() {
  say "Docker engine answers at ${DOCKER_HOST:-$DEFAULT_SOCKET}: server $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
}

how_to_get_an_engine() {
  cat >&2 <<EOF
  To get one, either:
    - on Debian/Ubuntu as root: apt-get install docker.io && dockerd &   (or re-run this script as root)
    - an engine runs but you may not use its socket: add yourself to the docker group (then log in again)
    - elsewhere: install Docker Engine (https://docs.docker.com/engine/install/) and start it
    - or point at a running engine: export DOCKER_HOST=unix:///path/to/docker.sock | tcp://host:2376 | ssh://user@host
EOF
}

# Polls until the engine answers; on timeout shows the end of the daemon log and fails.
wait_for_engine() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until docker_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "dockerd did not answer within $WAIT_SECONDS s; last lines of $DOCKERD_LOG:"
      tail -n 40 "$DOCKERD_LOG" >&2 2>/dev/null || true
      fail "dockerd did not start (full log: $DOCKERD_LOG)"
    fi
    sleep 1
  done
}

start_dockerd() {
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  say "starting dockerd in the background; its log is $DOCKERD_LOG"
  # setsid + nohup: the daemon outlives this script and the terminal or CI step that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
}

# dockerd writes its pid here; a stale file (dead pid) does not count.
dockerd_running() {
  [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null
}

main() {
  if docker_answers; then
    report_engine
    return 0
  fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$DEFAULT_SOCKET" ]; then
    say "ERROR: DOCKER_HOST=$DOCKER_HOST is set, but no Docker engine answers there."
    say "Start the engine it points at, fix DOCKER_HOST, or unset it to use a local engine."
    exit 1
  fi
  if ! is_root || ! is_debian_like; then
    say "ERROR: no Docker engine answers, and this script can only install one on Debian as root."
    how_to_get_an_engine
    exit 1
  fi

  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    run_step "apt-get update; install docker.io from Debian's packages" apt_install docker.io
  fi
  # An init system (systemd) may have started dockerd with the package; a second one would fail.
  if dockerd_running; then
    say "dockerd is already running; waiting for it to answer"
  else
    start_dockerd
  fi
  run_step "wait for the Docker engine (up to $WAIT_SECONDS s)" wait_for_engine
  report_engine
}

main "$@"
