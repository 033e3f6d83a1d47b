#!/bin/sh
# Runs one buildpack phase (bin/detect or bin/build) the way the CNB lifecycle would: the
# user's build env, kept as files in /platform/env (never in the image config or the Docker
# API), is exported first. Path-like variables are prepended to, all others overwritten
# (spec: buildpack.md "Provided by the Platform").
# Usage: phase.sh [--inventory <layers-dir> <file>] <program> [args...]
# With --inventory, once the program has succeeded, the layers dir is listed into <file>
# (see inventory.sh), which saves the platform an exec after the build.
set -eu
inventory_dir=
inventory_file=
if [ "${1:-}" = --inventory ]; then
  inventory_dir=$2
  inventory_file=$3
  shift 3
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
if [ -z "$inventory_file" ]; then exec "$@"; fi
status=0
"$@" || status=$?
if [ "$status" -eq 0 ]; then
  /bin/sh "${0%/*}/inventory.sh" "$inventory_dir" >"$inventory_file" || status=$?
fi
exit "$status"
