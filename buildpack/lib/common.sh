# shellcheck shell=sh
# Shared code of bin/detect and bin/build: logging, shell-word splitting, and the
# configuration both phases must agree on (work dir, targets, build flags).
# POSIX sh only: it runs under dash and busybox sh.

# --- output -----------------------------------------------------------------

log() { printf '%s\n' "$*"; }
warn() { printf 'Warning: %s\n' "$*" >&2; }
# die: a configuration or build error (exit 1, never 100: detect's 100 means "not a Go app").
die() {
  printf 'Error: %s\n' "$*" >&2
  exit 1
}

# now_ms: a clock in milliseconds. GNU date has %N; busybox date prints it literally,
# so fall back to /proc/uptime (centiseconds), then to whole seconds.
now_ms() {
  _ns=$(date +%s%N 2>/dev/null) || _ns=
  case $_ns in
    '' | *[!0-9]*) ;;
    *) echo $((_ns / 1000000)); return ;;
  esac
  if [ -r /proc/uptime ]; then
    awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
    return
  fi
  echo $(($(date +%s) * 1000))
}

# report_elapsed START_MS: the "Completed in" line every step ends with.
report_elapsed() {
  _ms=$(($(now_ms) - $1))
  [ "$_ms" -ge 0 ] || _ms=0
  printf '  Completed in %d.%03ds\n' $((_ms / 1000)) $((_ms % 1000))
}

# --- words ------------------------------------------------------------------

# sh_quote WORD: WORD as one single-quoted shell word, safe for eval. Pure sh: a name may end
# in a newline, which a command substitution around sed would strip.
sh_quote() {
  _sq_rest=$1
  _sq_out=
  while :; do
    case $_sq_rest in
      *\'*)
        _sq_out=$_sq_out${_sq_rest%%\'*}\'\\\'\'
        _sq_rest=${_sq_rest#*\'}
        ;;
      *) break ;;
    esac
  done
  printf "'%s'" "$_sq_out$_sq_rest"
}

# display_name NAME: NAME for a log line, with control and non-ASCII bytes shown as '?' (a file
# name may hold escape sequences or newlines; only what the user reads is changed).
display_name() {
  printf '%s' "$1" | LC_ALL=C tr -c ' -~' '?'
}

# display_words WORDS...: a command line for humans; only words with blanks or quotes get quotes.
display_words() {
  _out=
  for _w in "$@"; do
    case $_w in
      *[[:space:]\'\"]* | '') _w=$(sh_quote "$_w") ;;
    esac
    _out="${_out:+$_out }$_w"
  done
  printf '%s' "$_out"
}

# split_words STRING: split STRING into shell words the way a POSIX shell would
# (single quotes, double quotes, backslash; $VAR and ${VAR} expanded outside single
# quotes, as Paketo's go-shellwords does) and print them as a line of single-quoted
# words for `eval "set -- $line"`. Exits 2 with a message on stderr when unparsable.
# With WORDS_AS_WRITTEN=1 a $VAR stays as written: the same words, for logs and metadata that
# must not show the values (a -e variable may be a secret).
split_words() {
  WORDS_INPUT=$1 awk '
    function fail(msg) { print msg > "/dev/stderr"; failed = 1; exit 2 }
    function emit() {
      gsub(/\047/, "\047\\\047\047", w)
      out = out (out == "" ? "" : " ") "\047" w "\047"
      w = ""; inword = 0
    }
    # expand: s[i] is "$"; append the variable value to w and leave i on the last char used.
    function expand(    name, j, c) {
      if (substr(s, i + 1, 1) == "{") {
        j = index(substr(s, i + 2), "}")
        if (j == 0) fail("unterminated ${ in \"" s "\"")
        name = substr(s, i + 2, j - 1)
        i = i + 1 + j
        w = w (raw ? "${" name "}" : ENVIRON[name])
        return
      }
      name = ""
      for (j = i + 1; j <= n; j++) {
        c = substr(s, j, 1)
        if (c !~ /[A-Za-z0-9_]/ || (name == "" && c ~ /[0-9]/)) break
        name = name c
      }
      if (name == "") { w = w "$"; return }
      w = w (raw ? "$" name : ENVIRON[name])
      i = j - 1
    }
    BEGIN {
      s = ENVIRON["WORDS_INPUT"]; raw = (ENVIRON["WORDS_AS_WRITTEN"] == "1")
      n = length(s); out = ""; w = ""; inword = 0; q = ""
      for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (q == "\047") { if (c == "\047") q = ""; else w = w c; continue }
        if (q == "\"") {
          if (c == "\"") { q = ""; continue }
          if (c == "\\" && i < n && index("\\\"$`", substr(s, i + 1, 1)) > 0) { i++; w = w substr(s, i, 1); continue }
          if (c == "$") { expand(); continue }
          w = w c; continue
        }
        if (c == " " || c == "\t" || c == "\n") { if (inword) emit(); continue }
        inword = 1
        if (c == "\047" || c == "\"") { q = c; continue }
        if (c == "\\") {
          if (i == n) fail("trailing backslash in \"" s "\"")
          i++; c = substr(s, i, 1)
          if (c != "\n") w = w c
          continue
        }
        if (c == "$") { expand(); continue }
        w = w c
      }
      if (q == "\047") fail("unterminated single quote in \"" s "\"")
      if (q == "\"") fail("unterminated double quote in \"" s "\"")
      if (inword) emit()
      print out
    }
    END { if (failed) exit 2 }'
}

# --- Go source layout ---------------------------------------------------------

# has_go_files DIR: DIR directly contains a .go file.
has_go_files() {
  for _f in "$1"/*.go; do
    [ -f "$_f" ] && return 0
  done
  return 1
}

# is_main_package DIR: one of DIR's non-test .go files says `package main` (dies when one
# cannot be read).
is_main_package() {
  for _f in "$1"/*.go; do
    case $_f in *_test.go) continue ;; esac
    [ -f "$_f" ] || continue
    _grep_rc=0
    grep -Eq '^package[[:space:]]+main([[:space:]]|$|//)' "$_f" || _grep_rc=$?
    case $_grep_rc in
      0) return 0 ;;
      1) ;;
      # A file that cannot be read must not make a command silently vanish from the targets.
      *) die "cannot read $(display_name "$_f") to see whether it is a main package" ;;
    esac
  done
  return 1
}

# main_packages_under DIR: DIR and each directory below it holding a main package, as
# single-quoted shell words (eval "set -- $words"), in walk order, sorted per directory. Skips
# what the go tool skips (testdata, vendor, names starting with . or _), symbolic links, and
# (with a warning) directories Go cannot name as a package. Names never pass through a
# line-based pipe: a name may hold a newline.
main_packages_under() (
  if [ ! -d "$1" ] || [ -L "$1" ]; then exit 0; fi
  if is_main_package "$1"; then
    case $1 in
      *[!A-Za-z0-9._~+/-]*)
        warn "skipping the main package in $(display_name "$1"): Go cannot build a directory whose name has characters other than letters, digits and -._~+ (set BP_GO_TARGETS to choose the targets)"
        ;;
      *) printf '%s ' "$(sh_quote "$1")" ;;
    esac
  fi
  for _sub in "$1"/*; do
    if [ ! -d "$_sub" ] || [ -L "$_sub" ]; then continue; fi
    case ${_sub##*/} in testdata | vendor | .* | _*) continue ;; esac
    main_packages_under "$_sub" || exit 1
  done
)

# default_targets DIR [mains-only]: what to build when BP_GO_TARGETS is unset, as single-quoted
# words relative to DIR: "." for a main package at the root, else every main package under
# cmd/, else (unless mains-only) "." when the root has any Go files, so that go build says
# why it is not a command.
default_targets() (
  cd "$1" || exit 1
  if is_main_package .; then echo "'.'"; exit 0; fi
  _found=$(main_packages_under cmd) || exit 1
  if [ -n "$_found" ]; then
    eval "set -- $_found"
    for _t; do printf '%s ' "$(sh_quote "./$_t")"; done
    exit 0
  fi
  if [ -z "${2:-}" ] && has_go_files .; then echo "'.'"; fi
)

# --- configuration ----------------------------------------------------------

# load_config: read the BP_* settings, validate them and set
#   APP_DIR      absolute app dir (the cwd)
#   WORK_DIR     absolute dir go runs in (APP_DIR or APP_DIR/BP_GO_WORKDIR)
#   USER_FLAGS   BP_GO_BUILD_FLAGS as single-quoted words (eval "set -- $USER_FLAGS")
#   USER_LDFLAGS BP_GO_BUILD_LDFLAGS after word parsing ("" when unset)
#   USER_FLAGS_AS_WRITTEN, USER_LDFLAGS_AS_WRITTEN  the same with each $VAR as written
#   TARGETS      explicit BP_GO_TARGETS as "./dir" words, single-quoted ("" when unset)
# Every mistake is fatal (exit 1) with a message naming the setting.
load_config() {
  APP_DIR=$(pwd)
  WORK_DIR=$APP_DIR
  if [ -n "${BP_GO_WORKDIR:-}" ]; then
    case $BP_GO_WORKDIR in
      /*) die "BP_GO_WORKDIR=$BP_GO_WORKDIR must be a path relative to the app directory" ;;
    esac
    [ -d "$APP_DIR/$BP_GO_WORKDIR" ] ||
      die "BP_GO_WORKDIR=$BP_GO_WORKDIR: no such directory in $APP_DIR"
    WORK_DIR=$(cd "$APP_DIR/$BP_GO_WORKDIR" && pwd)
  fi

  # Each setting is split twice, with $VAR expanded (what go gets) and as written (what logs and
  # the image's metadata show): the words line up, since an expanded value is never split.
  USER_FLAGS=
  USER_FLAGS_AS_WRITTEN=
  if [ -n "${BP_GO_BUILD_FLAGS:-}" ]; then
    USER_FLAGS_AS_WRITTEN=$(WORDS_AS_WRITTEN=1 split_words "$BP_GO_BUILD_FLAGS" 2>&1) ||
      die "BP_GO_BUILD_FLAGS cannot be split into words: $USER_FLAGS_AS_WRITTEN"
    # shellcheck disable=SC2034 # read by bin/build
    USER_FLAGS=$(split_words "$BP_GO_BUILD_FLAGS" 2>/dev/null) ||
      die "BP_GO_BUILD_FLAGS cannot be split into words"
  fi

  USER_LDFLAGS=
  USER_LDFLAGS_AS_WRITTEN=
  if [ -n "${BP_GO_BUILD_LDFLAGS:-}" ]; then
    # Parsed the way Paketo does: as the single word -ldflags="<value>".
    _ld=$(WORDS_AS_WRITTEN=1 split_words "-ldflags=\"$BP_GO_BUILD_LDFLAGS\"" 2>&1) ||
      die "BP_GO_BUILD_LDFLAGS cannot be parsed: $_ld"
    eval "set -- $_ld"
    [ $# -eq 1 ] || die "BP_GO_BUILD_LDFLAGS must be one value; quote it so it stays one word"
    # shellcheck disable=SC2034 # read by bin/build
    USER_LDFLAGS_AS_WRITTEN=${1#-ldflags=}
    _ld=$(split_words "-ldflags=\"$BP_GO_BUILD_LDFLAGS\"" 2>/dev/null) ||
      die "BP_GO_BUILD_LDFLAGS cannot be parsed"
    eval "set -- $_ld"
    # shellcheck disable=SC2034 # read by bin/build
    USER_LDFLAGS=${1#-ldflags=}
  fi

  TARGETS=
  if [ -n "${BP_GO_TARGETS:-}" ]; then
    _old_ifs=$IFS
    IFS=': 	
'
    set -f
    # shellcheck disable=SC2086 # split on ':' and blanks on purpose
    set -- $BP_GO_TARGETS
    set +f
    IFS=$_old_ifs
    for _t in "$@"; do
      _t=$(check_target "$_t") || exit 1
      TARGETS="${TARGETS:+$TARGETS }$(sh_quote "$_t")"
    done
  fi
}

# check_target ENTRY: print ENTRY as "./dir" (or ".") after checking it is a directory
# of WORK_DIR holding a main package.
check_target() {
  _t=$1
  case $_t in
    /*) die "BP_GO_TARGETS entry '$1' must be relative to the app directory" ;;
    .. | ../* | */.. | */../*) die "BP_GO_TARGETS entry '$1' points outside the app directory" ;;
  esac
  while :; do
    case $_t in
      ./*) _t=${_t#./} ;;
      */) _t=${_t%/} ;;
      *) break ;;
    esac
  done
  [ -n "$_t" ] || _t=.
  _where=$WORK_DIR${BP_GO_WORKDIR:+ (BP_GO_WORKDIR)}
  [ -d "$WORK_DIR/$_t" ] || die "BP_GO_TARGETS entry '$1': no such directory in $_where"
  has_go_files "$WORK_DIR/$_t" || die "BP_GO_TARGETS entry '$1': no .go files in $WORK_DIR/$_t"
  is_main_package "$WORK_DIR/$_t" ||
    die "BP_GO_TARGETS entry '$1': not a command (no 'package main' in $WORK_DIR/$_t); targets must be main packages"
  if [ "$_t" = . ]; then echo .; else echo "./$_t"; fi
}
