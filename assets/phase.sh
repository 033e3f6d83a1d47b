#!/bin/sh
# Runs one buildpack phase (bin/detect or bin/build) the way the CNB lifecycle would: the
# user's build env, kept as files in /platform/env (never in the image config or the Docker
# API), is exported first. Path-like variables are prepended to, all others overwritten
# (spec: buildpack.md "Provided by the Platform").
# Usage: phase.sh [--inventory <layers-dir>] <program> [args...]
# With --inventory, all the program's output goes to stderr and, once it has succeeded, stdout
# carries the listing of the layers dir (see inventory.sh), then, when the app dir (the working
# dir) is empty, "\003empty-app-dir <octal mode>": the platform learns what to export without
# another round trip to the engine.
set -eu
inventory_dir=
if [ "${1:-}" = --inventory ]; then
  inventory_dir=$2
  shift 2
fi
if [ -d /platform/env ]; then
  for file in /platform/env/*; do
    [ -f "$file" ] || continue
    name=${file##*/}
    case $name in '' | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac
    # Keep trailing newlines of the value: command substitution would strip them.
    value=$(cat "$file"; printf x)
    value=${value%x}
    case $name in
      PATH | LD_LIBRARY_PATH | LIBRARY_PATH | CPATH | PKG_CONFIG_PATH)
        eval "old=\${$name:-}"
        # shellcheck disable=SC2154 # old is set by the eval above
        if [ -n "$old" ]; then value="$value:$old"; fi
        ;;
    esac
    export "$name=$value"
  done
fi
# CAs the host trusts (and --ca-certs), beside this script: the phase's TLS clients (Go, git)
# trust them on top of the builder's own bundle, unless the user's env points elsewhere. The
# merged file lives in the container's /tmp: never in a layer or the cache volume.
extra_ca=${0%/*}/ca-certificates.pem
if [ -f "$extra_ca" ] && [ -z "${SSL_CERT_FILE:-}" ]; then
  merged_ca=$(mktemp "${TMPDIR:-/tmp}/gobuild-cnb-ca.XXXXXX")
  for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem \
    /etc/pki/tls/cacert.pem /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem /etc/ssl/cert.pem; do
    if [ -f "$bundle" ]; then
      cat "$bundle"
      echo
      break
    fi
  done >"$merged_ca"
  cat "$extra_ca" >>"$merged_ca"
  export SSL_CERT_FILE="$merged_ca"
  [ -n "${GIT_SSL_CAINFO:-}" ] || export GIT_SSL_CAINFO="$merged_ca"
fi
if [ -z "$inventory_dir" ]; then exec "$@"; fi
status=0
"$@" >&2 || status=$?
[ "$status" -eq 0 ] || exit "$status"
/bin/sh "${0%/*}/inventory.sh" "$inventory_dir"
# ls fails on an unreadable dir, which then does not count as empty.
if entries=$(ls -A .) && [ -z "$entries" ] && mode=$(stat -c %a .); then
  printf '\003empty-app-dir %s\n' "$mode"
fi
