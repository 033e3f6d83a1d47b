#!/bin/sh
# Lists a buildpack's layers dir for the platform in one go, since every docker exec or
# getArchive costs a round trip of tens of milliseconds: each top-level name between the bytes
# \001 and \002, followed by the content of the small metadata files (*.toml, *.json).
# Usage: inventory.sh <dir>   (a dir that does not exist lists nothing)
cd "$1" 2>/dev/null || exit 0
for entry in * .[!.]*; do
  [ -e "$entry" ] || continue
  printf '\001%s\002' "$entry"
  case $entry in
    *.toml | *.json) if [ -f "$entry" ]; then cat "$entry"; fi ;;
  esac
done
exit 0
