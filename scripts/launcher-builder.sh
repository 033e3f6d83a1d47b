#!/usr/bin/env bash
# Makes gobuild-cnb/test-builder-launcher:bookworm: the test builder plus a launcher at
# /cnb/lifecycle/launcher, to test images built with a builder that ships one. The real CNB
# lifecycle cannot be fetched here, so the launcher is fixtures/fake-launcher (a small Go
# stand-in), built static on this machine. The base builder's labels stay, so it is still a CNB
# builder. Idempotent: an image labelled with this launcher's sha256 and the base's ID is kept.
#
#   scripts/launcher-builder.sh        (needs gobuild-cnb/test-builder:bookworm: scripts/test-images.sh)
#
# stdout: the image name. DOCKER_HOST is honoured, as by every docker CLI call.
set -euo pipefail
SCRIPT_NAME=launcher-builder
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

BASE_IMAGE=gobuild-cnb/test-builder:bookworm
IMAGE=gobuild-cnb/test-builder-launcher:bookworm
SOURCE_DIR=$(cd "$(dirname "$0")/../fixtures/fake-launcher" && pwd)
STAMP_LABEL=io.gobuild-cnb.launcher-stamp

go_binary() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    fail "Go is needed to build the stand-in launcher; install it (or put it on PATH)"
  fi
}

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

base_id=$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null) ||
  fail "$BASE_IMAGE is missing; make it with scripts/test-images.sh"

# Static and reproducible (no build ID, no paths), so the same source gives the same sha256.
(cd "$SOURCE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
  "$(go_binary)" build -trimpath -ldflags='-s -w -buildid=' -o "$work_dir/launcher" .)
launcher_sha=$(sha256sum "$work_dir/launcher" | cut -d' ' -f1)
stamp="launcher=sha256:$launcher_sha base=$base_id"

current=$(docker image inspect --format "{{ index .Config.Labels \"$STAMP_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$stamp" ]; then
  say "$IMAGE is up to date (launcher sha256:${launcher_sha:0:12})"
  echo "$IMAGE"
  exit 0
fi

# The classic builder: FROM a local image needs no pull, COPY leaves the launcher owned by root.
started=$SECONDS
# Its output (and its deprecation notice) is shown only when it fails.
if ! DOCKER_BUILDKIT=0 docker build --quiet --tag "$IMAGE" --file - "$work_dir" >"$work_dir/build.log" 2>&1 <<EOF; then
FROM $BASE_IMAGE
COPY launcher /cnb/lifecycle/launcher
LABEL $STAMP_LABEL="$stamp"
EOF
  cat "$work_dir/build.log" >&2
  fail "docker build of $IMAGE failed"
fi
say "built $IMAGE in $((SECONDS - started)) s (launcher sha256:${launcher_sha:0:12})"
echo "$IMAGE"
