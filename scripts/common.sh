# Shared by the scripts in this folder: paths, logging, privilege.
# The cache lives outside the clone so that fresh clones on one machine share it.
LECTERN_CACHE=${LECTERN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lectern}
LECTERN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LECTERN_CACHE LECTERN_ROOT

# A compiler cache shared by every clone on this machine: paths under the clone are hashed relative to
# it, so a fresh clone (as CI makes) reuses what an earlier one compiled. Tests that compile (the
# fuzzers) use it too.
export CCACHE_DIR=${CCACHE_DIR:-$LECTERN_CACHE/ccache} CCACHE_BASEDIR=$LECTERN_ROOT CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The Debian archive this machine is configured for; we never hard-code a mirror.
debian_archive_uri() {
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n1 || true)
  [ -n "$uri" ] || die "no Debian archive URI found in the apt sources"
  printf '%s\n' "${uri%/}"
}

# KSyntaxHighlighting for Qt 6: built by build-ksyntaxhighlighting, keyed on the source tarball's checksum.
KSH_VERSION=5.116.0
KSH_SHA256=6f8ccacebd0dc9ce050b2b23b715750c97938b3336fbbb80967920cb8c1dfaa7
KSH_PREFIX="$LECTERN_CACHE/ksyntaxhighlighting-$KSH_VERSION-${KSH_SHA256:0:12}"
