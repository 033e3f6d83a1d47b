#!/bin/sh
# Runs the shell linter on every shell file of the project (part of `npm test`, not beside it).
set -eu
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "lint-shell: shellcheck is not installed; run scripts/setup.sh (or apt-get install shellcheck)" >&2
  exit 1
fi
files=$(find bin buildpack scripts assets .ci -type f \( -name '*.sh' -o -path 'bin/*' -o -path 'buildpack/bin/*' -o -path 'buildpack/lib/*' -o -name run \) | sort)
# shellcheck disable=SC2086
shellcheck -x $files
echo "lint-shell: $(echo "$files" | wc -l) shell files clean"
