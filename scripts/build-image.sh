#!/usr/bin/env bash
# Build a tiny OCI image (image-layout tarball) containing only busybox-static.
#
# Usage: scripts/build-image.sh OUT.tar [REF]
#   REF defaults to switchyard.test/busybox:latest
#
# No network, no docker/skopeo: GNU tar + sha256sum only. The result is deterministic
# (fixed mtimes, owners and ordering) and cached: if OUT exists, is newer than this script
# and the busybox binary, and carries REF, nothing is done.
#
# The image has one uncompressed layer:
#   /bin/busybox, /bin/<applet> -> busybox for every applet of `busybox --list`,
#   /etc/passwd, /etc/group (root, nobody), /tmp (1777), /proc, /sys, /dev, /root, /run, /var.
#
# Import with containerd 1.6 (the name comes from the index annotations, see below):
#   ctr -n NS image import --base-name switchyard.test/busybox OUT.tar
#
# Env: BUSYBOX (default /bin/busybox), SOURCE_DATE_EPOCH (default 0).
set -euo pipefail

die() { echo "build-image: ERROR: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 OUT.tar [REF]"
OUT="$1"
REF="${2:-switchyard.test/busybox:latest}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
EPOCH="${SOURCE_DATE_EPOCH:-0}"
SELF="${BASH_SOURCE[0]}"

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (install busybox-static)"
# A dynamically linked busybox would not run in an image without libc.
if command -v file >/dev/null 2>&1 && file -L "$BUSYBOX" | grep -q 'dynamically linked'; then
  die "$BUSYBOX is dynamically linked; install busybox-static"
fi

# Split REF into name and tag (a digest ref is not supported: we build the image).
case "$REF" in
  *@*) die "REF must be name[:tag], not a digest: $REF" ;;
esac
last="${REF##*/}"
if [[ "$last" == *:* ]]; then
  TAG="${last##*:}"
  NAME="${REF%:*}"
else
  TAG="latest"
  NAME="$REF"
  REF="$NAME:$TAG"
fi

# Cache check.
if [ -s "$OUT" ] && [ "$OUT" -nt "$SELF" ] && [ "$OUT" -nt "$BUSYBOX" ]; then
  if tar -xOf "$OUT" index.json 2>/dev/null | grep -qF "\"io.containerd.image.name\":\"$REF\""; then
    exit 0
  fi
fi

# OCI platform from the Debian architecture.
VARIANT=""
case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
  amd64|x86_64) ARCH=amd64 ;;
  arm64|aarch64) ARCH=arm64; VARIANT=v8 ;;
  armhf) ARCH=arm; VARIANT=v7 ;;
  armel) ARCH=arm; VARIANT=v5 ;;
  i386|i686) ARCH=386 ;;
  ppc64el|ppc64le) ARCH=ppc64le ;;
  s390x) ARCH=s390x ;;
  riscv64) ARCH=riscv64 ;;
  mips64el) ARCH=mips64le ;;
  *) die "unsupported architecture $(dpkg --print-architecture 2>/dev/null || uname -m)" ;;
esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-build-image.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
umask 022

# --- root filesystem -------------------------------------------------------------
R="$WORK/rootfs"
mkdir -p "$R/bin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/root" "$R/run" "$R/var" "$R/tmp"
chmod 1777 "$R/tmp"
chmod 0700 "$R/root"
cp "$BUSYBOX" "$R/bin/busybox"
chmod 0755 "$R/bin/busybox"
"$BUSYBOX" --list | while IFS= read -r applet; do
  case "$applet" in
    ''|busybox|*/*) continue ;;
  esac
  ln -sf busybox "$R/bin/$applet"
done
[ -L "$R/bin/sh" ] || die "busybox has no 'sh' applet"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"

# Deterministic tar: sorted names, fixed mtime, uid/gid 0, no atime/ctime.
dtar() {
  local dir="$1" out="$2"; shift 2
  tar --create --file="$out" --directory="$dir" \
    --format=gnu --sort=name --numeric-owner --owner=0 --group=0 \
    --mtime="@$EPOCH" --no-recursion --null --files-from=- "$@"
}
(cd "$R" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z) | dtar "$R" "$WORK/layer.tar"

# --- OCI layout ------------------------------------------------------------------
L="$WORK/layout"
mkdir -p "$L/blobs/sha256"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
put_blob() { # file -> prints digest hex, moves file into blobs
  local h; h="$(sha "$1")"
  mv "$1" "$L/blobs/sha256/$h"
  echo "$h"
}

LAYER_SIZE="$(size "$WORK/layer.tar")"
LAYER_HEX="$(put_blob "$WORK/layer.tar")"

CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
PLATFORM_JSON="\"architecture\":\"$ARCH\",\"os\":\"linux\""
[ -n "$VARIANT" ] && PLATFORM_JSON="$PLATFORM_JSON,\"variant\":\"$VARIANT\""

printf '%s' "{\"created\":\"$CREATED\",$PLATFORM_JSON,\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$LAYER_HEX\"]},\"history\":[{\"created\":\"$CREATED\",\"created_by\":\"scripts/build-image.sh (busybox-static)\"}]}" >"$WORK/config.json"
CONFIG_SIZE="$(size "$WORK/config.json")"
CONFIG_HEX="$(put_blob "$WORK/config.json")"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$CONFIG_HEX\",\"size\":$CONFIG_SIZE},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$LAYER_HEX\",\"size\":$LAYER_SIZE}]}" >"$WORK/manifest.json"
MANIFEST_SIZE="$(size "$WORK/manifest.json")"
MANIFEST_HEX="$(put_blob "$WORK/manifest.json")"

# containerd 1.6 names the image from "io.containerd.image.name" (full ref) when present;
# "org.opencontainers.image.ref.name" holds only the tag, as the OCI spec intends, and is
# combined with ctr's --base-name.
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$MANIFEST_HEX\",\"size\":$MANIFEST_SIZE,\"platform\":{$PLATFORM_JSON},\"annotations\":{\"io.containerd.image.name\":\"$REF\",\"org.opencontainers.image.ref.name\":\"$TAG\"}}]}" >"$L/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"

(cd "$L" && { printf '%s\0' oci-layout index.json blobs blobs/sha256; find blobs/sha256 -type f -printf '%p\0' | LC_ALL=C sort -z; }) \
  | dtar "$L" "$WORK/out.tar"

mkdir -p "$(dirname "$OUT")"
mv -f "$WORK/out.tar" "$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
echo "build-image: wrote $OUT ($REF, $ARCH, layer sha256:$LAYER_HEX)" >&2
