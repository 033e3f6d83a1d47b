# shellcheck shell=sh
# Service bindings: credentials for this build, given the way the CNB ecosystem gives them (the
# Service Binding spec; pack --volume, kpack, gobuild-cnb --netrc/--volume). One folder per binding
# under $SERVICE_BINDING_ROOT (else $CNB_BINDINGS, else $CNB_PLATFORM_DIR/bindings), each with a
# `type` file and its secret files. The types used here:
#   netrc            .netrc (or netrc): NETRC points go at it (go sends netrc credentials over HTTPS only)
#   git-credentials  credentials: a git credential helper for this build only (git's key=value lines,
#                    as Paketo's git buildpack takes them, for the URLs of an optional `context` file;
#                    or git-credential-store lines, https://user:token@host)
# Nothing is copied into a layer, the app dir or the log: only binding names and types are logged.
# POSIX sh (dash, busybox sh).

# bindings_root: where the bindings are.
bindings_root() {
  printf '%s' "${SERVICE_BINDING_ROOT:-${CNB_BINDINGS:-${CNB_PLATFORM_DIR:-/platform}/bindings}}"
}

# add_git_config KEY VALUE: one more git config entry for the processes of this build, through
# GIT_CONFIG_COUNT (git >= 2.31), after any the user set.
add_git_config() {
  _gc_n=${GIT_CONFIG_COUNT:-0}
  case $_gc_n in '' | *[!0-9]*) die "GIT_CONFIG_COUNT=$_gc_n is not a number: a git-credentials binding cannot be added to it" ;; esac
  export "GIT_CONFIG_KEY_$_gc_n=$1" "GIT_CONFIG_VALUE_$_gc_n=$2"
  export GIT_CONFIG_COUNT=$((_gc_n + 1))
}

# use_bindings SCRATCH_DIR: apply the bindings this buildpack understands (see above). Several
# netrc bindings are merged, in name order, into one file in SCRATCH_DIR (removed with it).
use_bindings() {
  _bd_scratch=$1
  _bd_root=$(bindings_root)
  [ -d "$_bd_root" ] || return 0
  _bd_netrcs=
  _bd_netrc_names=
  _bd_netrc_count=0
  for _bd in "$_bd_root"/*; do
    [ -d "$_bd" ] || continue
    _bd_name=$(display_name "${_bd##*/}")
    if [ ! -f "$_bd/type" ]; then
      warn "binding $_bd_name has no type file: not used"
      continue
    fi
    _bd_type=$(tr -d '[:space:]' <"$_bd/type") || die "cannot read the type of binding $_bd_name"
    case $_bd_type in
      netrc)
        _bd_file=
        for _bd_f in "$_bd/.netrc" "$_bd/netrc"; do
          if [ -f "$_bd_f" ]; then _bd_file=$_bd_f; break; fi
        done
        [ -n "$_bd_file" ] || die "binding $_bd_name (type netrc) has no .netrc or netrc file"
        _bd_netrcs="$_bd_netrcs $(sh_quote "$_bd_file")"
        _bd_netrc_names="${_bd_netrc_names:+$_bd_netrc_names, }$_bd_name"
        _bd_netrc_count=$((_bd_netrc_count + 1))
        ;;
      git-credentials)
        _bd_file=$_bd/credentials
        [ -f "$_bd_file" ] || die "binding $_bd_name (type git-credentials) has no credentials file"
        _bd_key=credential.helper
        _bd_context=
        if [ -f "$_bd/context" ]; then
          _bd_context=$(tr -d '[:space:]' <"$_bd/context") || die "cannot read the context of binding $_bd_name"
          [ -z "$_bd_context" ] || _bd_key=credential.$_bd_context.helper
        fi
        if grep -Eq '^[[:space:]]*[A-Za-z][A-Za-z0-9+.-]*://' "$_bd_file"; then
          # git-credential-store lines: git's own store helper reads them.
          add_git_config "$_bd_key" "store --file=$(sh_quote "$_bd_file")"
          log "  Binding $_bd_name (git-credentials): git credential store for this build"
        else
          # git's credential lines (username=..., password=...): answered as they are to `get`.
          add_git_config "$_bd_key" "!f() { if [ \"\$1\" = get ]; then cat $(sh_quote "$_bd_file"); fi; }; f"
          log "  Binding $_bd_name (git-credentials): git credential helper for this build${_bd_context:+ ($_bd_context)}"
        fi
        ;;
      *) log "  Binding $_bd_name (type $(display_name "$_bd_type")): not a type this buildpack uses (netrc, git-credentials)" ;;
    esac
  done
  [ "$_bd_netrc_count" -gt 0 ] || return 0
  if [ -n "${NETRC:-}" ]; then
    warn "NETRC is set in the build env, so the netrc binding(s) $_bd_netrc_names are not used"
    return 0
  fi
  eval "set -- $_bd_netrcs"
  if [ $# -eq 1 ]; then
    export NETRC="$1"
  else
    # A blank line between files: a macdef in one must not swallow the next.
    _bd_merged=$_bd_scratch/netrc
    for _bd_f; do
      cat "$_bd_f" || die "cannot read $(display_name "$_bd_f")"
      printf '\n\n'
    done >"$_bd_merged"
    export NETRC="$_bd_merged"
  fi
  log "  Binding(s) $_bd_netrc_names (netrc): NETRC for go"
}
