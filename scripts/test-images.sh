#!/usr/bin/env bash
# Makes the two local test images from Debian's packages, because no container registry is
# reachable from our machines (see docs/test-images.md):
#   gobuild-cnb/test-builder:bookworm  CNB-style builder: bookworm + git/gcc/lld + this machine's Go
#   gobuild-cnb/test-run:bookworm      small Debian run image: minbase + ca-certificates
# Idempotent: an image whose recipe label matches what this run would build is left alone, so a
# warm run takes seconds. Debootstrap downloads and root file systems are cached under
# $GOBUILD_CNB_CACHE_DIR (default /var/cache/gobuild-cnb) so a re-run after a failure is quick.
#
# Environment:
#   GOBUILD_CNB_CACHE_DIR      cache for .debs and root file systems
#   GOBUILD_CNB_DEBIAN_MIRROR  Debian mirror for debootstrap (default: from apt sources)
#   DOCKER_HOST                honoured, as by every docker CLI call
set -Eeuo pipefail

SCRIPT_NAME=test-images
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

BUILDER_IMAGE=gobuild-cnb/test-builder:bookworm
RUN_IMAGE=gobuild-cnb/test-run:bookworm
SUITE=bookworm
STACK_ID=io.buildpacks.stacks.bookworm
CNB_UID=1000
CNB_GID=1000
# Bump when the recipe below changes what goes into an image: existing images then get rebuilt.
RECIPE_VERSION=1
RECIPE_LABEL=io.gobuild-cnb.recipe
BUILDER_PACKAGES=ca-certificates,git,gcc,libc6-dev,lld
RUN_PACKAGES=ca-certificates

if is_root; then
  CACHE_DIR=${GOBUILD_CNB_CACHE_DIR:-/var/cache/gobuild-cnb}
else
  CACHE_DIR=${GOBUILD_CNB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gobuild-cnb}
fi

sha256_of() { printf '%s' "$*" | sha256sum | cut -c1-16; }

# The Debian mirror this machine's apt already uses (deb822 "URIs:" or one-line "deb" sources).
debian_mirror() {
  if [ -n "${GOBUILD_CNB_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$GOBUILD_CNB_DEBIAN_MIRROR"
    return
  fi
  local found
  found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ' || true)
  printf '%s\n' "${found:-http://deb.debian.org/debian}"
}

# Removes a directory even if a failed debootstrap left /proc or /sys mounted inside it.
remove_tree() {
  local dir=$1 mountpoint
  [ -e "$dir" ] || return 0
  awk '{print $2}' /proc/mounts | { grep -F "$dir/" || true; } | sort -r | while read -r mountpoint; do
    umount -l "$mountpoint" || true
  done
  rm -rf --one-file-system "$dir"
}

PARTIAL_DIRS=()
cleanup() {
  local dir
  for dir in "${PARTIAL_DIRS[@]}"; do remove_tree "$dir"; done
}
trap cleanup EXIT
trap 'say "ERROR: command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

image_recipe() { docker image inspect --format "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true; }

# The Go toolchain to copy into the builder: the machine's, or Debian's golang-go when there is none.
find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  fi
}

ensure_go() {
  GO_BIN=$(find_go)
  if [ -z "$GO_BIN" ]; then
    if ! is_root || ! is_debian_like; then
      fail "Go is not installed; install it (Debian: apt-get install golang-go) and re-run"
    fi
    run_step "apt-get update; install Debian's golang-go (no Go on this machine)" apt_install golang-go
    GO_BIN=$(find_go)
  fi
  GOROOT_DIR=$(readlink -f "$("$GO_BIN" env GOROOT)")
  GO_VERSION=$("$GO_BIN" env GOVERSION)
}

# Root file system from debootstrap, cached by its inputs: cache/rootfs/<name>-<hash>.
# All debootstraps share one .deb cache, so the second one downloads nothing.
bootstrap_rootfs() {
  local name=$1 packages=$2 mirror
  mirror=$(debian_mirror)
  ROOTFS="$CACHE_DIR/rootfs/$name-$(sha256_of "$SUITE" minbase "$packages" "$mirror")"
  if [ -f "$ROOTFS/.gobuild-cnb-bootstrapped" ]; then
    say "   reusing cached root file system $ROOTFS"
    return
  fi
  local partial="$ROOTFS.partial"
  remove_tree "$partial"
  PARTIAL_DIRS+=("$partial")
  mkdir -p "$CACHE_DIR/debs" "$partial"
  say "   debootstrap $SUITE from $mirror into $partial (log: $partial.log)"
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$CACHE_DIR/debs" \
    "$SUITE" "$partial" "$mirror" >"$partial.log" 2>&1; then
    tail -n 30 "$partial.log" >&2
    fail "debootstrap failed (full log: $partial.log)"
  fi
  remove_tree "$ROOTFS"
  touch "$partial/.gobuild-cnb-bootstrapped"
  mv "$partial" "$ROOTFS"
  rm -f "$partial.log"
}

# The changes both images share: the cnb user, and no docs/caches/host leftovers.
prepare_common() {
  local rootfs=$1
  chroot "$rootfs" getent group cnb >/dev/null || chroot "$rootfs" groupadd --gid "$CNB_GID" cnb
  chroot "$rootfs" getent passwd cnb >/dev/null ||
    chroot "$rootfs" useradd --uid "$CNB_UID" --gid "$CNB_GID" --create-home --home-dir /home/cnb --shell /bin/bash cnb
  rm -rf "${rootfs:?}"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  find "$rootfs/var/log" -type f -delete
  # Docker provides these at run time; the build host's values must not leak into the image.
  : >"$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/hostname"
}

# Copies the Go toolchain to /usr/local/go. Symlinks leading out of GOROOT (Debian's golang-go
# links src/ to /usr/share/go-*) are replaced by what they point to.
copy_go() {
  local rootfs=$1 target="$1/usr/local/go" link
  remove_tree "$target"
  cp -a "$GOROOT_DIR" "$target"
  while IFS= read -r -d '' link; do
    case "$(readlink -f "$GOROOT_DIR/${link#"$target"/}")" in
      "$GOROOT_DIR"/*) ;;
      *) rm "$link" && cp -aL "$GOROOT_DIR/${link#"$target"/}" "$link" ;;
    esac
  done < <(find "$target" -type l -print0)
  chown -R 0:0 "$target"
}

prepare_builder() {
  local rootfs=$1 dir
  prepare_common "$rootfs"
  copy_go "$rootfs"
  for dir in workspace layers platform; do
    mkdir -p "$rootfs/$dir"
    chown "$CNB_UID:$CNB_GID" "$rootfs/$dir"
  done
}

# docker import of a root file system with Dockerfile-style changes (-c 'ENV ...' etc.).
import_rootfs() {
  local rootfs=$1 ref=$2 old_id new_id
  shift 2
  old_id=$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    --exclude=./.gobuild-cnb-bootstrapped -cf - . | docker import "$@" - "$ref" >/dev/null
  new_id=$(docker image inspect --format '{{.Id}}' "$ref")
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || say "   the previous $ref ($old_id) is still in use; left in place"
  fi
}

# The run image as pack's builder metadata names it (io.buildpacks.builder.metadata).
builder_metadata_json() {
  printf '{"description":"gobuild-cnb test builder","stack":{"runImage":{"image":"%s","mirrors":[]}},"images":[{"image":"%s"}],"buildpacks":[],"lifecycle":{"version":"","apis":{"buildpack":{"supported":["0.10"]},"platform":{"supported":["0.13"]}}}}' \
    "$RUN_IMAGE" "$RUN_IMAGE"
}

build_builder() {
  local recipe=$1 metadata
  run_step "debootstrap the builder root file system ($BUILDER_PACKAGES)" bootstrap_rootfs builder "$BUILDER_PACKAGES"
  local rootfs=$ROOTFS
  run_step "add the cnb user, $GO_VERSION from $GOROOT_DIR, CNB dirs; strip docs/caches" prepare_builder "$rootfs"
  metadata=$(builder_metadata_json)
  run_step "docker import $BUILDER_IMAGE" import_rootfs "$rootfs" "$BUILDER_IMAGE" \
    -c "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c "ENV CNB_USER_ID=$CNB_UID CNB_GROUP_ID=$CNB_GID CNB_STACK_ID=$STACK_ID GOTOOLCHAIN=local" \
    -c "LABEL io.buildpacks.stack.id=$STACK_ID" \
    -c "LABEL io.buildpacks.builder.metadata=\"${metadata//\"/\\\"}\"" \
    -c "LABEL io.gobuild-cnb.go-version=\"$GO_VERSION\" $RECIPE_LABEL=$recipe" \
    -c "USER cnb"
  run_step "check: go version as cnb in $BUILDER_IMAGE" check_builder_go
}

check_builder_go() {
  local answer
  answer=$(docker run --rm --label io.gobuild-cnb.test=1 "$BUILDER_IMAGE" sh -c 'echo "$(id -u) $(go env GOVERSION)"') ||
    fail "the copied Go toolchain does not run in $BUILDER_IMAGE"
  [ "$answer" = "$CNB_UID $GO_VERSION" ] || fail "$BUILDER_IMAGE answered '$answer', expected '$CNB_UID $GO_VERSION'"
}

build_run() {
  local recipe=$1
  run_step "debootstrap the run root file system ($RUN_PACKAGES)" bootstrap_rootfs run "$RUN_PACKAGES"
  local rootfs=$ROOTFS
  run_step "add the cnb user; strip docs/caches" prepare_common "$rootfs"
  run_step "docker import $RUN_IMAGE" import_rootfs "$rootfs" "$RUN_IMAGE" \
    -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c "LABEL io.buildpacks.stack.id=$STACK_ID io.buildpacks.base.distro.name=debian io.buildpacks.base.distro.version=12" \
    -c "LABEL $RECIPE_LABEL=$recipe" \
    -c "USER cnb"
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return
  run_step "apt-get update; install debootstrap" apt_install debootstrap
}

main() {
  local started=$SECONDS
  docker_answers || fail "no Docker engine answers; run scripts/setup-docker.sh or set DOCKER_HOST"
  ensure_go
  local builder_recipe run_recipe need_builder=false need_run=false
  builder_recipe="v$RECIPE_VERSION-$(sha256_of "$RECIPE_VERSION" "$BUILDER_PACKAGES" "$GO_VERSION" "$GOROOT_DIR" "$(uname -m)")"
  run_recipe="v$RECIPE_VERSION-$(sha256_of "$RECIPE_VERSION" "$RUN_PACKAGES" "$(uname -m)")"
  [ "$(image_recipe "$BUILDER_IMAGE")" = "$builder_recipe" ] || need_builder=true
  [ "$(image_recipe "$RUN_IMAGE")" = "$run_recipe" ] || need_run=true
  $need_builder || say "$BUILDER_IMAGE is up to date ($GO_VERSION, recipe $builder_recipe)"
  $need_run || say "$RUN_IMAGE is up to date (recipe $run_recipe)"

  if $need_builder || $need_run; then
    is_root || fail "making the images needs root (debootstrap, chroot); re-run as root"
    is_debian_like || fail "making the images needs a Debian machine with debootstrap"
    ensure_debootstrap
    # The builder first: its download is a superset of the run image's, so the run one reuses it.
    if $need_builder; then build_builder "$builder_recipe"; fi
    if $need_run; then build_run "$run_recipe"; fi
  fi
  docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' gobuild-cnb/test-builder >&2
  docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' gobuild-cnb/test-run >&2
  say "test images ready in $((SECONDS - started)) s"
}

main "$@"
