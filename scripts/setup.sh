#!/usr/bin/env bash
# Sets up everything gobuild-cnb and its tests need on a fresh Debian machine, idempotently:
# the tools the tests use (from Debian's packages), the npm dependencies, the compiled CLI, a
# Docker engine, and the local builder/run images. Each step says how long it took.
set -euo pipefail

SCRIPT_NAME=setup
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$(dirname "$0")/.."

# Debian packages the tests use: shellcheck (lint), busybox (the buildpack must run under it),
# skopeo (validates OCI output), docker-registry (a real registry on 127.0.0.1), file, and
# openssh-server/-client (a real sshd on 127.0.0.1 for ssh:// engines; never started as a service).
ensure_test_tools() {
  local missing=()
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
  command -v busybox >/dev/null 2>&1 || missing+=(busybox)
  command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
  [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
  command -v file >/dev/null 2>&1 || missing+=(file)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  if [ ${#missing[@]} -eq 0 ]; then
    say "test tools present"
    return 0
  fi
  if is_root && is_debian_like; then
    apt_install "${missing[@]}"
  else
    fail "missing tools: ${missing[*]}; install them with your package manager (Debian: apt-get install ${missing[*]})"
  fi
}

# npm ci only when package-lock.json changed since the last install (its hash is kept in node_modules).
ensure_node_modules() {
  local stamp=node_modules/.gobuild-cnb-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "node_modules up to date"
    return 0
  fi
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

run_step "test tools (Debian packages)" ensure_test_tools
run_step "npm dependencies" ensure_node_modules
run_step "compile the CLI (npm run build)" npm run build --silent
run_step "Docker engine" bash scripts/setup-docker.sh
run_step "local builder and run images" bash scripts/test-images.sh
