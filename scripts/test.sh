#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite: compile, ESLint and
# the shell linter, then the jest projects unit, buildpack and integration. Ends with one line of

# counts. Extra arguments go to jest (e.g. --selectProjects unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
npm test --silent -- --json --outputFile="$results" "$@" || status=$?
# One plain closing line with the counts (skipped tests are listed, never hidden).
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results" 2>/dev/null || echo "tests: no results (the run stopped before jest; see above)"
exit "$status"
