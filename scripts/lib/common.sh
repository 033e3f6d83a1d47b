# shellcheck shell=bash
# Shared helpers for the set-up scripts: messages, timed steps, machine checks.
# Sourced, never run. Every message goes to stderr so stdout stays free for results.

SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0" .sh)}

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }

fail() {
  say "ERROR: $*"
  exit 1
}

# run_step "description" command args...: runs the command, then prints how long it took.
run_step() {
  local description=$1
  shift
  local started=$SECONDS
  say "-> $description"
  "$@"
  say "   done in $((SECONDS - started)) s: $description"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Debian or a derivative (Ubuntu, ...): the machines whose packages the scripts install.
is_debian_like() {
  [ -r /etc/os-release ] || return 1
  # shellcheck disable=SC1091
  (. /etc/os-release && case " ${ID:-} ${ID_LIKE:-} " in *" debian "*) exit 0 ;; *) exit 1 ;; esac)
}

# True when a Docker engine answers (the docker CLI honours DOCKER_HOST and the current context).
docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1
}

# apt-get install from fresh package lists (a fresh machine may have none): updates once per script.
APT_UPDATED=false
apt_install() {
  if ! $APT_UPDATED; then
    apt-get update -q
    APT_UPDATED=true
  fi
  # No package starts a service of its own (openssh-server would start sshd on every address):
  # the scripts start what they need themselves. policy-rc.d exit 101 = "action forbidden".
  local policy=/usr/sbin/policy-rc.d own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || { ! $own_policy || rm -f "$policy"; return 1; }
  ! $own_policy || rm -f "$policy"
}
