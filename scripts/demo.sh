#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set everything up, build fixtures/hello into an
# image with gobuild-cnb, run it with its port published on 127.0.0.1, and print its answer.
set -euo pipefail

SCRIPT_NAME=demo
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$(dirname "$0")/.."

IMAGE=${GOBUILD_CNB_DEMO_IMAGE:-gobuild-cnb-demo/hello:latest}
BUILDER=gobuild-cnb/test-builder:bookworm

bash scripts/setup.sh

run_step "gobuild-cnb build fixtures/hello -t $IMAGE" \
  bin/gobuild-cnb build fixtures/hello -t "$IMAGE" --builder "$BUILDER" --pull-policy never

container=$(docker run -d --rm -p 127.0.0.1::8080 "$IMAGE")
trap 'docker rm -f "$container" >/dev/null 2>&1 || true' EXIT
port=$(docker port "$container" 8080/tcp | head -n 1 | sed 's/.*://')
say "container ${container:0:12} listens on 127.0.0.1:$port"

answer=""
for _ in $(seq 1 50); do
  if answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null); then break; fi
  sleep 0.2
done
[ -n "$answer" ] || fail "the app did not answer on 127.0.0.1:$port; its log: $(docker logs "$container" 2>&1 | tail -n 20)"
echo "$answer"
