#!/usr/bin/env bash
# Unpacks Debian packages from suites newer than the host's (trixie, sid, bookworm-backports)
# into a cache this repository owns, without touching the host's apt sources or dpkg state.
#
# Usage: scripts/debian-cache.sh [--print] NAME=PKG=VERSION ...
#   NAME      the folder under the cache: .cache/debian/NAME/ holds the unpacked tree
#   PKG       the Debian package, VERSION its exact version (any suite below that has it)
# With --print, prints each NAME's folder, one a line. Quick when every folder is there.
#
# Why a private apt configuration: the host stays on bookworm (its own containerd 1.6 and
# runc keep working), and a test run never depends on what someone installed by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SWITCHYARD_DEBIAN_CACHE:-$ROOT/.cache/debian}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITES=(bookworm-backports trixie sid)

print=0
specs=()
for arg in "$@"; do
  case "$arg" in
    --print) print=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *=*=*) specs+=("$arg") ;;
    *) echo "debian-cache: bad argument $arg (want NAME=PKG=VERSION)" >&2; exit 2 ;;
  esac
done

log() { echo "debian-cache: $*" >&2; }
die() { echo "debian-cache: ERROR: $*" >&2; exit 1; }

apt_dir="$CACHE/.apt"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 -o APT::Sandbox::User=root
)
updated=0
apt_update() {
  [ "$updated" = 1 ] && return
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  : >"$apt_dir/sources.list"
  for s in "${SUITES[@]}"; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $s main" >>"$apt_dir/sources.list"
  done
  log "apt-get update (private lists: ${SUITES[*]})"
  apt-get "${apt_opts[@]}" update -qq >&2 || die "apt-get update of ${SUITES[*]} from $MIRROR failed"
  updated=1
}

for spec in "${specs[@]}"; do
  name="${spec%%=*}"
  rest="${spec#*=}"
  pkg="${rest%%=*}"
  version="${rest#*=}"
  dest="$CACHE/$name"
  stamp="$dest/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkg=$version" ]; then
    [ "$print" = 1 ] && echo "$dest"
    continue
  fi
  apt_update
  rm -rf "$dest.new" && mkdir -p "$dest.new"
  (cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" download -qq "$pkg=$version" >&2) \
    || die "cannot download $pkg=$version (apt-cache ${apt_opts[*]} madison $pkg lists what there is)"
  deb=$(ls "$apt_dir/archives/${pkg}_"*.deb | grep -F "$(echo "$version" | sed 's/:/%3a/')" | head -n1)
  [ -n "$deb" ] || die "downloaded $pkg=$version but cannot find its .deb"
  dpkg-deb -x "$deb" "$dest.new"
  echo "$pkg=$version" >"$dest.new/.installed"
  rm -rf "$dest" && mv "$dest.new" "$dest"
  log "$pkg $version unpacked into $dest"
  [ "$print" = 1 ] && echo "$dest"
done
exit 0
