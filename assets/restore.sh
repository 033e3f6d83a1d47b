#!/bin/sh
# Restore, for a cache volume mounted at a buildpack's layers dir (the lifecycle's restorer):
# keep the layers whose <layer>.toml says cache = true, with their metadata, and remove
# everything else (launch layers, launch.toml, SBOMs), so the buildpack starts as if it had
# only its cache. Runs as the build user, who owns the dir.
# It first checks that the builder has Go (in the same exec, to save a round trip); the marker
# line is what src/app/restore.ts looks for (NO_GO_MARKER in src/app/preflight.ts).
# Usage: restore.sh <layers-dir>
set -eu
# The same places the buildpack's find_go looks: PATH, then the usual install dirs.
have_go=false
if command -v go >/dev/null 2>&1; then
  have_go=true
else
  old_ifs=$IFS
  IFS=:
  for dir in ${GOBUILD_CNB_GO_FALLBACK_DIRS-/usr/local/go/bin}; do
    if [ -x "$dir/go" ]; then have_go=true; fi
  done
  IFS=$old_ifs
fi
if [ "$have_go" = false ]; then
  echo 'gobuild-cnb: no go command in the builder' >&2
  exit 3
fi
cd "$1"
for entry in * .[!.]*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  name=${entry%.toml}
  if [ -f "$name.toml" ] && grep -Eq '^[[:space:]]*cache[[:space:]]*=[[:space:]]*true' "$name.toml"; then
    continue
  fi
  # Go makes module cache files read-only.
  chmod -R u+w "$entry" 2>/dev/null || true
  rm -rf "$entry"
done
