# shellcheck shell=sh
# Helpers of bin/build: TOML output, the go command runner, flag composition, the SBOM
# and the source removal. POSIX sh (dash, busybox sh); awk where sh alone is clumsy.

# --- TOML ---------------------------------------------------------------------

# toml_string VALUE: VALUE as a TOML basic string.
toml_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# toml_array QUOTED_WORDS: a TOML array of strings from single-quoted shell words.
toml_array() {
  eval "set -- $1"
  _arr=
  for _w in "$@"; do
    _arr="${_arr:+$_arr, }$(toml_string "$_w")"
  done
  printf '[%s]' "$_arr"
}

# toml_get FILE KEY: the string value of KEY in FILE ("" when absent).
toml_get() {
  [ -f "$1" ] || return 0
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\"\\(.*\\)\"[[:space:]]*\$/\\1/p" "$1" | head -n 1
}

# write_layer_toml FILE LAUNCH CACHE METADATA_LINES: a layer's <name>.toml (Buildpack API
# 0.10: [types] plus [metadata]).
write_layer_toml() {
  {
    printf '[types]\n  launch = %s\n  build = false\n  cache = %s\n\n[metadata]\n' "$2" "$3"
    printf '%s\n' "$4"
  } >"$1"
}

# --- running go -------------------------------------------------------------------

# run_go ARGS...: log the go command line, run it with its output untouched, log the time.
run_go() {
  run_go_shown "$(display_words "$@")" "$@"
}

# run_go_shown SHOWN ARGS...: run_go, logging SHOWN as the arguments (the flags as written,
# so an expanded $VAR never reaches the log).
run_go_shown() {
  log "  Running: go $1"
  shift
  _start=$(now_ms)
  _rc=0
  "$GO" "$@" || _rc=$?
  if [ "$_rc" -eq 0 ]; then report_elapsed "$_start"; else log "  Failed (exit $_rc)"; fi
  return "$_rc"
}

# run_go_to FILE ARGS...: run_go with go's stdout in FILE (stderr still reaches the user).
run_go_to() {
  _file=$1
  shift
  log "  Running: go $(display_words "$@")"
  _start=$(now_ms)
  _rc=0
  "$GO" "$@" >"$_file" || _rc=$?
  if [ "$_rc" -eq 0 ]; then report_elapsed "$_start"; else log "  Failed (exit $_rc)"; fi
  return "$_rc"
}

# find_go: set GO to the go command: PATH first, then the usual install dirs.
find_go() {
  GO=$(command -v go 2>/dev/null) || GO=
  if [ -z "$GO" ]; then
    _old_ifs=$IFS
    IFS=:
    for _dir in ${GOBUILD_CNB_GO_FALLBACK_DIRS-/usr/local/go/bin}; do
      if [ -x "$_dir/go" ]; then
        GO=$_dir/go
        PATH=$_dir:$PATH
        export PATH
        break
      fi
    done
    IFS=$_old_ifs
  fi
  [ -n "$GO" ] || die "no go command on PATH or in ${GOBUILD_CNB_GO_FALLBACK_DIRS-/usr/local/go/bin}: the builder image needs a Go toolchain (e.g. build on golang:1.26 or install Go in /usr/local/go)"
}

# --- the Go toolchain: the builder's, or the one BP_GO_VERSION / go.mod asks for ----------

# go_version_cmp A B: -1, 0 or 1 as Go orders toolchain versions (a leading "go" or "v" is
# ignored): 1.21 (a language version) < 1.21rc1 < 1.21.0 < 1.21.1; before 1.21, "1.20" is the
# release 1.20.0.
go_version_cmp() {
  A=$1 B=$2 awk '
    # key: major, minor, kind (0 language, 1 beta, 2 rc, 3 release), number, as a comparable list.
    function parse(v, k,    m, rest, n) {
      sub(/^(go|v)/, "", v)
      n = split(v, m, ".")
      k[1] = m[1] + 0; rest = m[2]; k[2] = rest + 0; sub(/^[0-9]+/, "", rest)
      if (n >= 3) { k[3] = 3; k[4] = m[3] + 0 }
      else if (rest ~ /^rc/) { k[3] = 2; k[4] = substr(rest, 3) + 0 }
      else if (rest ~ /^beta/) { k[3] = 1; k[4] = substr(rest, 5) + 0 }
      else if (k[1] == 1 && k[2] < 21) { k[3] = 3; k[4] = 0 }
      else { k[3] = 0; k[4] = 0 }
    }
    BEGIN {
      parse(ENVIRON["A"], a); parse(ENVIRON["B"], b)
      for (i = 1; i <= 4; i++) if (a[i] != b[i]) { print (a[i] < b[i] ? -1 : 1); exit }
      print 0
    }'
}

# go_version_match WANT HAVE: "ok" when HAVE (e.g. go1.26.8) satisfies the BP_GO_VERSION
# constraint WANT, "no" when not, "unknown" for a constraint this buildpack does not understand.
go_version_match() {
  WANT=$1 HAVE=$2 awk '
    function cmp(a, b,    x, y, k, na, nb) {
      na = split(a, x, "."); nb = split(b, y, ".")
      for (k = 1; k <= 3; k++) { if (x[k] + 0 != y[k] + 0) return (x[k] + 0 < y[k] + 0) ? -1 : 1 }
      return 0
    }
    function prefix(v, p) { return v == p || index(v, p ".") == 1 }
    BEGIN {
      w = ENVIRON["WANT"]; h = ENVIRON["HAVE"]
      gsub(/[[:space:]]/, "", w); sub(/^go/, "", h)
      # A pre-release satisfies no constraint: 1.26rc1 is not a 1.26 release.
      if (h !~ /^[0-9]+(\.[0-9]+)*$/) { print "no"; exit }
      if (w ~ /^>=/) { v = substr(w, 3); sub(/^v|^go/, "", v); print (cmp(h, v) >= 0 ? "ok" : "no"); exit }
      tilde = (w ~ /^~>?/); sub(/^~>?|^=/, "", w); sub(/^v|^go/, "", w)
      if (w !~ /^[0-9]+(\.([0-9]+|\*|x))*$/) { print "unknown"; exit }
      sub(/(\.(\*|x))+$/, "", w)
      if (tilde) {
        split(w, p, "."); mm = p[1] (p[2] == "" ? "" : "." p[2])
        print ((prefix(h, mm) && cmp(h, w) >= 0) ? "ok" : "no"); exit
      }
      print (prefix(h, w) ? "ok" : "no")
    }'
}

# exact_go_version WANT: the toolchain version a BP_GO_VERSION names exactly (1.24.3, go1.24.3,
# =1.24.3, or 1.20 for releases before 1.21), or nothing when WANT is a range.
exact_go_version() {
  _v=$(printf '%s' "$1" | tr -d ' \t')
  _v=${_v#=}
  _v=${_v#v}
  _v=${_v#go}
  case $_v in
    *[!0-9.]* | '' | .* | *. | *..*) return 0 ;;
  esac
  _dots=$(printf '%s' "$_v" | tr -cd .)
  case $_dots in
    ..) printf '%s' "$_v" ;;
    .) [ "$(go_version_cmp "$_v" 1.21)" -lt 0 ] && printf '%s' "$_v" ;;
  esac
  return 0
}

# go_mod_requirement FILE: the `go` and `toolchain` lines of a go.mod or go.work, as
# "GO TOOLCHAIN" ("-" for a line that is absent; toolchain as a version, without "go").
go_mod_requirement() {
  awk '
    { sub(/\/\/.*/, "") }
    $1 == "go" && NF >= 2 && go == "" { go = $2 }
    $1 == "toolchain" && NF >= 2 && tc == "" { tc = $2 }
    END {
      # Only what looks like a version counts: go itself reports a malformed line.
      sub(/^go/, "", tc); sub(/\+auto$/, "", tc)
      if (tc !~ /^[0-9]+(\.[0-9]+)*((rc|beta)[0-9]+)?$/) tc = "-"
      if (go !~ /^[0-9]+(\.[0-9]+)*((rc|beta)[0-9]+)?$/) go = "-"
      print go " " tc
    }' "$1"
}

# toolchain_for_go_mod HAVE GO TOOLCHAIN: the Go that go.mod's lines ask for when the builder's
# (HAVE) is older, as the go command decides with GOTOOLCHAIN=auto: the toolchain line when it
# is at least the go line, else the go line (a language version like 1.22 then means its newest
# release). Nothing when HAVE will do.
toolchain_for_go_mod() {
  _need=$2
  [ "$_need" != - ] || _need=0
  if [ "$3" != - ] && [ "$(go_version_cmp "$3" "$_need")" -ge 0 ]; then _need=$3; fi
  [ "$_need" != 0 ] || return 0
  [ "$(go_version_cmp "$_need" "$1")" -gt 0 ] || return 0
  printf '%s' "$_need"
}

# newest_matching_toolchain WANT OS ARCH: from the golang.org/toolchain versions on stdin
# (v0.0.1-go1.24.3.linux-amd64, blank- or line-separated), the newest release for OS-ARCH that
# the constraint WANT accepts (a language version like 1.24 accepts its releases: 1.24.*).
newest_matching_toolchain() {
  _want=$1 _os=$2 _arch=$3
  _best=
  _list=$(cat)
  set -f
  # shellcheck disable=SC2086 # blank- or line-separated on purpose
  set -- $_list
  set +f
  for _mv; do
    _v=${_mv#v0.0.1-go}
    case $_v in *".$_os-$_arch") _v=${_v%".$_os-$_arch"} ;; *) continue ;; esac
    case $_v in *[!0-9.]* | '') continue ;; esac
    [ "$(go_version_match "$_want" "$_v")" = ok ] || continue
    if [ -z "$_best" ] || [ "$(go_version_cmp "$_v" "$_best")" -gt 0 ]; then _best=$_v; fi
  done
  printf '%s' "$_best"
}

# redact_url_userinfo TEXT: TEXT with the user:password@ of any URL in it removed (GOPROXY may
# carry credentials; log lines must not).
redact_url_userinfo() {
  printf '%s' "$1" | sed 's#://[^/@,|]*@#://#g'
}

# choose_toolchain HAVE GOMOD: set TOOLCHAIN_WANT to the Go version to download ("" to build with
# the builder's Go, version HAVE) and TOOLCHAIN_REASON to why. GOMOD is the go.work or go.mod
# whose go/toolchain lines count ("" when none). BP_GO_VERSION wins over go.mod. Needs GO,
# GOHOSTOS/GOHOSTARCH values in TOOLCHAIN_OS/TOOLCHAIN_ARCH and a scratch dir in TOOLCHAIN_TMP
# (to list the versions GOPROXY has when a range must be resolved).
choose_toolchain() {
  TOOLCHAIN_WANT=
  TOOLCHAIN_REASON=
  _range=
  if [ -n "${BP_GO_VERSION:-}" ]; then
    case $(go_version_match "$BP_GO_VERSION" "$1") in
      ok) log "  BP_GO_VERSION=$BP_GO_VERSION is satisfied by the builder's $1"; return 0 ;;
      unknown)
        warn "BP_GO_VERSION=$BP_GO_VERSION is not a constraint this buildpack understands (use 1.26, 1.26.*, ~1.26.3, >=1.25 or 1.26.8); building with $1"
        return 0
        ;;
    esac
    TOOLCHAIN_REASON="BP_GO_VERSION=$BP_GO_VERSION (the builder has $1)"
    TOOLCHAIN_WANT=$(exact_go_version "$BP_GO_VERSION")
    [ -n "$TOOLCHAIN_WANT" ] || _range=$BP_GO_VERSION
  elif [ -n "$2" ]; then
    _req=$(go_mod_requirement "$2") || die "cannot read $2"
    # shellcheck disable=SC2086 # two words: the go and toolchain lines
    set -- "$1" "$2" $_req
    TOOLCHAIN_WANT=$(toolchain_for_go_mod "$1" "$3" "$4")
    [ -n "$TOOLCHAIN_WANT" ] || return 0
    TOOLCHAIN_REASON="${2##*/} says go $3$([ "$4" = - ] || printf ', toolchain go%s' "$4") (the builder has $1)"
    case $(exact_go_version "$TOOLCHAIN_WANT") in
      '') _range=$TOOLCHAIN_WANT; TOOLCHAIN_WANT= ;;
    esac
  else
    return 0
  fi
  [ -n "$_range" ] || return 0
  _versions=$TOOLCHAIN_TMP/toolchain-versions
  log "  Listing the Go toolchains GOPROXY offers, for $TOOLCHAIN_REASON"
  # -retracted: the list alone, without a checksum-database lookup of the newest go.mod (the
  # toolchain module retracts nothing; the download itself is still checked).
  if ! (cd "$TOOLCHAIN_TMP" && GOTOOLCHAIN=local GOFLAGS='' GOWORK=off GO111MODULE=on "$GO" list -m -versions -retracted golang.org/toolchain) >"$_versions"; then
    die "cannot download the Go toolchain for $TOOLCHAIN_REASON: listing golang.org/toolchain on GOPROXY failed (see go's message above)"
  fi
  TOOLCHAIN_WANT=$(newest_matching_toolchain "$_range" "$TOOLCHAIN_OS" "$TOOLCHAIN_ARCH" <"$_versions")
  [ -n "$TOOLCHAIN_WANT" ] ||
    die "cannot download the Go toolchain for $TOOLCHAIN_REASON: GOPROXY lists no Go release matching $_range for $TOOLCHAIN_OS/$TOOLCHAIN_ARCH"
}

# provide_toolchain LAYER VERSION: make go VERSION available in the cache layer LAYER (one
# toolchain, keyed by version: another version replaces it) and set GO to its go command. It
# comes from GOPROXY as the module golang.org/toolchain, through the builder's go, which checks
# it against the checksum database as its own toolchain switch would.
provide_toolchain() {
  _layer=$1
  _ver=$2
  _module=golang.org/toolchain@v0.0.1-go$_ver.$TOOLCHAIN_OS-$TOOLCHAIN_ARCH
  _goroot=$_layer/go$_ver
  _proxy=$(redact_url_userinfo "$("$GO" env GOPROXY)")
  if [ -x "$_goroot/bin/go" ] && [ "$(toml_get "$_layer.toml" version)" = "go$_ver" ]; then
    # shellcheck disable=SC2034 # read by bin/build
    TOOLCHAIN_SOURCE="cached in the toolchain layer ($_module, from GOPROXY=$(toml_get "$_layer.toml" goproxy))"
  else
    log "  Downloading Go $_ver ($_module) through GOPROXY=$_proxy"
    _start=$(now_ms)
    # Unpacked beside the layer and swapped in once it runs: a failed download keeps the cached one.
    _new=$_layer.download
    [ ! -e "$_new" ] || chmod -R u+w "$_new" 2>/dev/null || true
    rm -rf "$_new"
    mkdir -p "$_new/modcache"
    # -modcacherw: the unpacked toolchain must be movable and, later, removable.
    if ! (cd "$TOOLCHAIN_TMP" && GOTOOLCHAIN=local GOFLAGS=-modcacherw GOWORK=off GO111MODULE=on \
      GOMODCACHE="$_new/modcache" "$GO" mod download "$_module"); then
      rm -rf "$_new"
      die "cannot download the Go toolchain go$_ver for $TOOLCHAIN_REASON: GOPROXY=$_proxy did not give $_module (see go's message above)"
    fi
    mv "$_new/modcache/$_module" "$_new/go$_ver" || die "cannot unpack the downloaded toolchain in $_new"
    rm -rf "$_new/modcache"
    # Module zips carry no file modes; the go command sets the execute bits on its own downloads.
    for _exe in "$_new/go$_ver"/bin/* "$_new/go$_ver"/pkg/tool/*/*; do
      [ ! -f "$_exe" ] || chmod +x "$_exe"
    done
    _got=$("$_new/go$_ver/bin/go" env GOVERSION 2>/dev/null) || _got=
    if [ "$_got" != "go$_ver" ]; then
      rm -rf "$_new"
      die "cannot download the Go toolchain go$_ver for $TOOLCHAIN_REASON: $_module from GOPROXY=$_proxy does not run as go$_ver (it says '${_got:-nothing}')"
    fi
    [ ! -e "$_layer" ] || chmod -R u+w "$_layer" 2>/dev/null || true
    rm -rf "$_layer" "$_layer.toml"
    mv "$_new" "$_layer" || die "cannot move the downloaded toolchain into $_layer"
    write_layer_toml "$_layer.toml" false true "  version = $(toml_string "go$_ver")
  module = $(toml_string "$_module")
  goproxy = $(toml_string "$_proxy")"
    report_elapsed "$_start"
    # shellcheck disable=SC2034 # read by bin/build
    TOOLCHAIN_SOURCE="downloaded now ($_module, from GOPROXY=$_proxy)"
  fi
  GO=$_goroot/bin/go
  PATH=$_goroot/bin:$PATH
  export PATH
}

# check_go_version WANT HAVE: with the user's own GOTOOLCHAIN the buildpack switches nothing, so
# BP_GO_VERSION is a check of the builder's Go (HAVE, e.g. go1.26.8).
check_go_version() {
  case $(go_version_match "$1" "$2") in
    ok) log "  BP_GO_VERSION=$1 is satisfied by $2" ;;
    unknown) warn "BP_GO_VERSION=$1 is not a constraint this buildpack understands (use 1.26, 1.26.*, ~1.26.3, >=1.25 or 1.26.8); building with $2" ;;
    *) die "BP_GO_VERSION=$1 but the builder's Go is $2, and GOTOOLCHAIN is set, so the buildpack downloads no other: unset GOTOOLCHAIN, use a builder with a matching Go, or unset BP_GO_VERSION" ;;
  esac
}

# --- flags ------------------------------------------------------------------------

# merge_lld_ldflags LDFLAGS: LDFLAGS plus external linking through the C compiler with
# -fuse-ld=lld. An -extldflags the user gave keeps its value and gets -fuse-ld=lld appended
# (the last one when there are several: that is the one the linker uses).
merge_lld_ldflags() {
  LDFLAGS_INPUT=$1 awk '
    function quote(v) { return index(v, "\047") ? "\"" v "\"" : "\047" v "\047" }
    BEGIN {
      s = ENVIRON["LDFLAGS_INPUT"]; n = length(s); i = 1; nf = 0
      # Fields as the Go linker splits them (cmd/internal/quoted): blanks separate,
      # a field that starts with a quote runs to the matching quote.
      while (i <= n) {
        c = substr(s, i, 1)
        if (c ~ /[ \t\n\r]/) { i++; continue }
        if (c == "\047" || c == "\"") {
          j = index(substr(s, i + 1), c)
          if (j == 0) { print "unterminated quote in -ldflags " s > "/dev/stderr"; exit 2 }
          raw = substr(s, i, j + 1); val = substr(s, i + 1, j - 1); i += j + 1
        } else {
          j = i; while (j <= n && substr(s, j, 1) !~ /[ \t\n\r]/) j++
          raw = substr(s, i, j - i); val = raw; i = j
        }
        nf++; RAW[nf] = raw; VAL[nf] = val
      }
      done = 0
      for (k = nf; k >= 1 && !done; k--) {
        if (VAL[k] ~ /^--?extldflags=/) {
          v = VAL[k]; sub(/^--?extldflags=/, "", v)
          RAW[k] = "-extldflags " quote(v " -fuse-ld=lld"); done = 1
        } else if (VAL[k] ~ /^--?extldflags$/ && k < nf) {
          RAW[k + 1] = quote(VAL[k + 1] " -fuse-ld=lld"); done = 1
        }
      }
      out = ""
      for (k = 1; k <= nf; k++) out = out RAW[k] " "
      if (!done) out = out "-extldflags=-fuse-ld=lld "
      print out "-linkmode=external"
    }'
}

# compose_build_flags STATIC LLD: set BUILD_FLAGS (single-quoted words) from USER_FLAGS,
# USER_LDFLAGS, LLD and the defaults: -buildmode=pie (static: -buildmode=default) and
# -trimpath, each only when neither BP_GO_BUILD_FLAGS nor GOFLAGS sets it (prefix match).
# FLAGS_AS_WRITTEN gets the same words from USER_FLAGS_AS_WRITTEN/USER_LDFLAGS_AS_WRITTEN:
# what the log and the layer metadata show. Decisions are made on the expanded words.
compose_build_flags() {
  _static=$1
  _lld=$2
  BUILD_FLAGS=
  FLAGS_AS_WRITTEN=
  _ldflags=
  _ldflags_written=
  _has_buildmode=
  _has_trimpath=
  _want_ld_value=
  # The as-written words, numbered: they line up one to one with the expanded ones.
  # shellcheck disable=SC2153 # USER_FLAGS_AS_WRITTEN comes from load_config
  eval "set -- $USER_FLAGS_AS_WRITTEN"
  _n=0
  for _w in "$@"; do
    _n=$((_n + 1))
    eval "_written_$_n=\$_w"
  done
  # shellcheck disable=SC2153 # USER_FLAGS comes from load_config
  eval "set -- $USER_FLAGS"
  [ $# -eq "$_n" ] || die "BP_GO_BUILD_FLAGS: internal error: $# words expanded but $_n as written"
  _n=0
  for _w in "$@"; do
    _n=$((_n + 1))
    _ww=
    eval "_ww=\$_written_$_n"
    if [ -n "$_want_ld_value" ]; then
      _ldflags=$_w
      _ldflags_written=$_ww
      _want_ld_value=
      continue
    fi
    case $_w in
      -ldflags=* | --ldflags=*)
        _ldflags=${_w#*=}
        case $_ww in *=*) _ldflags_written=${_ww#*=} ;; *) _ldflags_written=$_ww ;; esac
        continue
        ;;
      -ldflags | --ldflags) _want_ld_value=1; continue ;;
      -o | -o=* | --o | --o=*) die "BP_GO_BUILD_FLAGS must not set -o: the buildpack writes the binaries into its targets layer" ;;
      -buildmode* | --buildmode*) _has_buildmode=1 ;;
      -trimpath* | --trimpath*) _has_trimpath=1 ;;
    esac
    BUILD_FLAGS="${BUILD_FLAGS:+$BUILD_FLAGS }$(sh_quote "$_w")"
    FLAGS_AS_WRITTEN="${FLAGS_AS_WRITTEN:+$FLAGS_AS_WRITTEN }$(sh_quote "$_ww")"
  done
  [ -z "$_want_ld_value" ] || die "BP_GO_BUILD_FLAGS: -ldflags needs a value"

  set -f
  # shellcheck disable=SC2086 # GOFLAGS is a blank-separated list, as go reads it
  for _w in ${GOFLAGS:-}; do
    case $_w in
      -buildmode* | --buildmode*) _has_buildmode=1 ;;
      -trimpath* | --trimpath*) _has_trimpath=1 ;;
    esac
  done
  set +f

  # BP_GO_BUILD_LDFLAGS wins over any -ldflags in BP_GO_BUILD_FLAGS.
  if [ -n "$USER_LDFLAGS" ] || [ -n "$USER_LDFLAGS_AS_WRITTEN" ]; then
    _ldflags=$USER_LDFLAGS
    _ldflags_written=$USER_LDFLAGS_AS_WRITTEN
  fi
  if [ "$_lld" = 1 ]; then
    _ldflags_written=$(merge_lld_ldflags "$_ldflags_written") || die "cannot add LLD linking to -ldflags '$_ldflags_written'"
    # Its error would show the expanded value.
    _ldflags=$(merge_lld_ldflags "$_ldflags" 2>/dev/null) ||
      die "cannot add LLD linking to -ldflags '$_ldflags_written' once its variables are expanded"
  fi
  if [ -n "$_ldflags" ] || [ -n "$_ldflags_written" ]; then
    BUILD_FLAGS="${BUILD_FLAGS:+$BUILD_FLAGS }$(sh_quote "-ldflags=$_ldflags")"
    FLAGS_AS_WRITTEN="${FLAGS_AS_WRITTEN:+$FLAGS_AS_WRITTEN }$(sh_quote "-ldflags=$_ldflags_written")"
  fi

  _defaults=
  if [ -z "$_has_buildmode" ]; then
    if [ "$_static" = 1 ]; then _mode=default; else _mode=pie; fi
    _defaults="'-buildmode=$_mode'"
  fi
  [ -n "$_has_trimpath" ] || _defaults="${_defaults:+$_defaults }'-trimpath'"
  BUILD_FLAGS="$BUILD_FLAGS${BUILD_FLAGS:+${_defaults:+ }}$_defaults"
  FLAGS_AS_WRITTEN="$FLAGS_AS_WRITTEN${FLAGS_AS_WRITTEN:+${_defaults:+ }}$_defaults"
}

# parse_bool NAME VALUE: 1 or 0 for VALUE as Go's strconv.ParseBool reads it ("" is 0).
parse_bool() {
  case $2 in
    1 | t | T | true | TRUE | True) echo 1 ;;
    '' | 0 | f | F | false | FALSE | False) echo 0 ;;
    *) die "$1=$2: expected true or false" ;;
  esac
}

# binary_name IMPORT_PATH MODULE_MODE: the file name go build gives the command, including
# its rule for major-version suffixes: example.com/tool/v2 builds "tool" (module mode only).
binary_name() {
  _elem=${1##*/}
  if [ "$2" = 1 ] && [ "$_elem" != "$1" ]; then
    case $_elem in
      v0* | v1 | v | *[!v0-9]* | v*v*) ;;
      v[0-9]*)
        _parent=${1%/*}
        _elem=${_parent##*/}
        ;;
    esac
  fi
  printf '%s' "$_elem"
}

# --- SBOM -------------------------------------------------------------------------

# write_sbom FILE GO_VERSION_M_OUTPUT: a CycloneDX 1.4 JSON SBOM of the binaries, from the
# build info Go embeds in them (`go version -m`): one application per binary, one library
# per module (plus the Go standard library), and which binary contains which module.
write_sbom() {
  awk -v tool_version="$BP_VERSION" '
    function js(v) { gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v); gsub(/\t/, "\\t", v); return "\"" v "\"" }
    function purl(p, v) { return "pkg:golang/" p "@" v }
    function add_lib(p, v, extra,    ref) {
      ref = purl(p, v)
      if (!(ref in LIB)) {
        LIB[ref] = 1; libs[++nlibs] = "    {\"type\": \"library\", \"bom-ref\": " js(ref) ", \"name\": " js(p) ", \"version\": " js(v) ", \"purl\": " js(ref) extra "}"
      }
      deps[nbins] = deps[nbins] (deps[nbins] == "" ? "" : ", ") js(ref)
    }
    function flush(    extra) {
      extra = ""
      if (dh != "") extra = extra "{\"name\": \"go:module-hash\", \"value\": " js(dh) "}"
      if (dr != "") extra = extra (extra == "" ? "" : ", ") "{\"name\": \"go:replaced-by\", \"value\": " js(dr) "}"
      add_lib(dp, dv, extra == "" ? "" : ", \"properties\": [" extra "]")
      pending = 0; dr = ""; dh = ""
    }
    { split($0, f, "\t") }
    # A dep line is complete once the next line is not its "=>" replacement.
    pending && f[2] != "=>" { flush() }
    /^[^\t].*: go[0-9]/ {
      nbins++; file = $0; sub(/: go[0-9].*$/, "", file); gover = $0; sub(/^.*: /, "", gover)
      name = file; sub(/^.*\//, "", name)
      NAME[nbins] = name; GOVER[nbins] = gover; PKG[nbins] = ""; MODV[nbins] = ""; MODP[nbins] = ""
      add_lib("stdlib", gover, "")
      next
    }
    f[2] == "path" { PKG[nbins] = f[3] }
    f[2] == "mod" { MODP[nbins] = f[3]; MODV[nbins] = f[4] }
    f[2] == "dep" { pending = 1; dp = f[3]; dv = f[4]; dh = f[5] }
    f[2] == "=>" { dr = f[3] (f[4] == "" ? "" : " " f[4]); if (f[5] != "") dh = f[5] }
    END {
      if (pending) flush()
      printf "{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.4\",\n  \"version\": 1,\n"
      printf "  \"metadata\": {\"tools\": [{\"vendor\": \"gobuild-cnb\", \"name\": \"gobuild-cnb/go\", \"version\": %s}]},\n", js(tool_version)
      printf "  \"components\": [\n"
      for (b = 1; b <= nbins; b++) {
        v = MODV[b] == "" ? "" : ", \"version\": " js(MODV[b])
        p = (MODP[b] != "" && MODV[b] != "(devel)") ? ", \"purl\": " js(purl(MODP[b], MODV[b])) : ""
        printf "    {\"type\": \"application\", \"bom-ref\": %s, \"name\": %s%s%s, \"properties\": [{\"name\": \"go:package\", \"value\": %s}, {\"name\": \"go:toolchain\", \"value\": %s}]},\n", js("binary:" NAME[b]), js(NAME[b]), v, p, js(PKG[b]), js(GOVER[b])
      }
      for (l = 1; l <= nlibs; l++) printf "%s%s\n", libs[l], (l < nlibs ? "," : "")
      printf "  ],\n  \"dependencies\": [\n"
      for (b = 1; b <= nbins; b++) printf "    {\"ref\": %s, \"dependsOn\": [%s]}%s\n", js("binary:" NAME[b]), deps[b], (b < nbins ? "," : "")
      printf "  ]\n}\n"
    }' "$2" >"$1"
}

# --- source removal ---------------------------------------------------------------

# The BP_KEEP_FILES matcher, with Paketo's rules (source_deleter.go): each ':'-separated glob
# is relative to the app root and matched like Go's filepath.Match (* and ? never cross a /),
# every leading part of a glob is a glob too (so it keeps the parent directories it names),
# and a match on a glob ending in /* keeps the whole subtree.
# Input: KEEP_GLOBS (the setting) and arguments "./<path relative to the app>". Output: one
# letter per argument (a line each with -v per_line=1): s (keep the subtree), k (keep; look
# inside a directory), r (remove). Without arguments it only checks the globs. A glob that filepath.Match rejects
# (ErrBadPattern), or that this matcher cannot apply, exits 2 with the reason on stderr.
# Run it with LC_ALL=C: names are bytes, and need not be UTF-8.
KEEP_FILES_AWK='
function bad(why) { printf "glob \"%s\" %s\n", glob, why > "/dev/stderr"; failed = 1; exit 2 }
# An ERE for the literal character c.
function lit(c) { return index(".+(){|^$*?[\\", c) ? "\\" c : c }
# One class member, as filepath.Match reads it (getEsc): never - or ], \ escapes; it must be
# followed by more of the glob. Leaves k on the character after it.
function member(    c) {
  c = substr(seg, k, 1)
  if (k > n || c == "-" || c == "]") bad("has a malformed [...] class")
  if (c == "\\") { k++; if (k > n) bad("has an unterminated [...] class"); c = substr(seg, k, 1) }
  if (!(c in ORD)) bad("has a non-ASCII character in a [...] class, which this buildpack cannot match")
  k++
  if (k > n) bad("has an unterminated [...] class")
  return c
}
# class(): the ERE for the class starting at seg[k] == "[", leaving k on its "]".
function class(    neg, nr, lo, hi, i, b, m) {
  k++; neg = 0
  if (substr(seg, k, 1) == "^") { neg = 1; k++ }
  split("", IN); nr = 0
  while (1) {
    if (k > n) bad("has an unterminated [...] class")
    if (substr(seg, k, 1) == "]" && nr > 0) break
    lo = member(); hi = lo
    if (substr(seg, k, 1) == "-") { k++; hi = member() }
    for (i = ORD[lo]; i <= ORD[hi]; i++) IN[i] = 1
    nr++
  }
  # A class never matches a /.
  if (neg) IN[47] = 1; else delete IN[47]
  b = ""
  if (93 in IN) b = "]"
  for (i = 1; i < 128; i++) if ((i in IN) && i != 93 && i != 94 && i != 91 && i != 92 && i != 45) b = b CHR[i]
  if ((94 in IN) && b == "" && !neg) return "\\^"
  if (94 in IN) b = b "^"
  if (91 in IN) b = b "["
  if (92 in IN) b = b "\\\\"
  if (45 in IN) b = b "-"
  if (neg) return "([^" b "\200-\377]|" UTF8 ")"
  if (b == "") { never = 1; return "" }
  return "[" b "]"
}
# seg_re(): the ERE for the path segment seg.
function seg_re(    r, c) {
  r = ""; n = length(seg)
  for (k = 1; k <= n; k++) {
    c = substr(seg, k, 1)
    if (c == "*") r = r "[^/]*"
    else if (c == "?") r = r "([^/\200-\377]|" UTF8 ")"
    else if (c == "\\") { if (k == n) bad("ends in a lone \\"); k++; r = r lit(substr(seg, k, 1)) }
    else if (c == "[") r = r class()
    else r = r lit(c)
  }
  return r
}
BEGIN {
  for (i = 1; i < 128; i++) { CHR[i] = sprintf("%c", i); ORD[CHR[i]] = i }
  # ? and a negated class match one character: a UTF-8 sequence or any other single byte.
  UTF8 = "[\300-\377][\200-\277]*|[\200-\277]"
  nglobs = split(ENVIRON["KEEP_GLOBS"], globs, ":")
  for (g = 1; g <= nglobs; g++) {
    glob = globs[g]
    if (glob == "") continue
    nseg = split(glob, segs, "/"); re = ""; never = 0
    for (s = 1; s <= nseg; s++) {
      seg = segs[s]
      if (seg == "" || seg == ".") continue
      if (seg == "..") bad("has a .. part: globs are relative to the app directory and cannot leave it")
      re = re (re == "" ? "" : "/") seg_re()
      if (!never) { nre++; RE[nre] = "^" re "$"; SUBTREE[nre] = (seg == "*") }
    }
  }
  decision_format = per_line ? "%s\n" : "%s"
  for (a = 1; a < ARGC; a++) {
    p = substr(ARGV[a], 3); d = "r"
    for (r = 1; r <= nre; r++) {
      if (p ~ RE[r]) { if (SUBTREE[r]) { d = "s"; break } d = "k" }
    }
    printf decision_format, d
  }
  exit 0
}
END { if (failed) exit 2 }'

# check_keep_files: fail, naming the setting, when BP_KEEP_FILES cannot be applied: the image
# would otherwise ship the sources the user meant to remove.
check_keep_files() {
  [ -n "${BP_KEEP_FILES:-}" ] || return 0
  _keep_err=$(KEEP_GLOBS=$BP_KEEP_FILES LC_ALL=C awk "$KEEP_FILES_AWK" 2>&1 >/dev/null) ||
    die "BP_KEEP_FILES=$BP_KEEP_FILES: ${_keep_err:-cannot be read}. Globs are matched like Go's filepath.Match: escape a literal *, ?, [ or \\ with \\"
}

# remove_sources APP_DIR: delete everything under APP_DIR except what BP_KEEP_FILES keeps
# (see KEEP_FILES_AWK). Any failure fails the caller: a half-done removal ships sources.
# keep_walk lists what goes (NUL-separated, into a file: sh has no pipefail), then it goes in
# a few rm calls, not one per file.
remove_sources() (
  cd "$1" || exit 1
  _remove_list=$(mktemp "${TMPDIR:-/tmp}/gobuild-cnb-remove.XXXXXX") || exit 1
  trap 'rm -f "$_remove_list"' EXIT
  keep_walk . >"$_remove_list" || exit 1
  [ -s "$_remove_list" ] || exit 0
  xargs -0 rm -rf -- <"$_remove_list" 2>/dev/null && exit 0
  # A directory the app made read-only or unreadable cannot be emptied: the app belongs to the
  # build user, who makes it writable (real directories only: never through a link).
  # shellcheck disable=SC2016 # expanded by the inner sh
  xargs -0 sh -c 'for e; do if [ -d "$e" ] && [ ! -L "$e" ]; then find "$e" -type d -exec chmod u+rwx {} \;; fi; done' sh \
    <"$_remove_list" 2>/dev/null
  xargs -0 rm -rf -- <"$_remove_list"
)

# keep_walk DIR: apply the BP_KEEP_FILES decisions to the entries of DIR ("." or "./a/b"):
# print each entry to remove (NUL-terminated), and look into the directories a glob keeps.
# Names are data: they come from sh globbing and reach awk as NUL-separated arguments, never
# as lines; only awk's one-letter decisions come back as lines. Symbolic links are removed or
# kept as links, never followed. A subshell per directory: POSIX sh has no local variables.
keep_walk() (
  _dir=$1
  if [ ! -r "$_dir" ] || [ ! -x "$_dir" ]; then
    chmod u+rx "$_dir" || exit 1
  fi
  # One expansion (a pattern that matches nothing stays as it is, and is skipped below).
  set -- "$_dir"/* "$_dir"/.[!.]* "$_dir"/..?*
  _decisions=$(printf '%s\0' "$@" | KEEP_GLOBS=${BP_KEEP_FILES:-} LC_ALL=C xargs -0 awk -v per_line=1 "$KEEP_FILES_AWK") || exit 1
  _i=0
  while IFS= read -r _decision; do
    _i=$((_i + 1))
    [ "$_i" -le $# ] || break
    _entry=
    eval "_entry=\${$_i}"
    if [ ! -e "$_entry" ] && [ ! -L "$_entry" ]; then continue; fi
    case $_decision in
      s) ;;
      k)
        if [ -d "$_entry" ] && [ ! -L "$_entry" ]; then
          keep_walk "$_entry" || exit 1
        fi
        ;;
      r) printf '%s\0' "$_entry" ;;
      *) _i=-1; break ;;
    esac
  done <<DECISIONS
$_decisions
DECISIONS
  if [ "$_i" -ne $# ]; then
    printf 'matching BP_KEEP_FILES gave no usable decision for each of the %s entries of %s\n' $# "$(display_name "$_dir")" >&2
    exit 1
  fi
)
