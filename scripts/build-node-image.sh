#!/usr/bin/env bash
# Build the Switchyard node image (what the DaemonSet runs) as an OCI image-layout tarball,
# without Docker: GNU tar, sha256sum and the files of this machine.
#
# Usage: scripts/build-node-image.sh BUNDLE_DIR OUT.tar [REF]
#   BUNDLE_DIR  the node bundle (make node-bundle: dist/node-bundle)
#   REF         default switchyard.dev/node:<version from BUILD-INFO.json>
#
# One uncompressed layer:
#   /opt/switchyard                 the node bundle (its own Node), copied to the host by
#                                   `switchyard node install`
#   /bin/busybox + applets          the shell, chroot and nsenter the installer uses
#   /usr/bin/ctr                    containerd's client (Debian's, from .cache/debian) for the probe task
#   /usr/share/switchyard/probe.tar a busybox image for that probe (scripts/build-image.sh)
#   /lib/x86_64-linux-gnu, /lib64   the shared libraries node, koffi and ctr need, from this machine
# Import: ctr -n k8s.io image import OUT.tar   (or push it with skopeo/crane to a registry)
#
# Env: BUSYBOX (default /bin/busybox), CTR (default .cache/debian/containerd-2.1/usr/bin/ctr),
#      SOURCE_DATE_EPOCH (default 0).
set -euo pipefail

die() { echo "build-node-image: ERROR: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 BUNDLE_DIR OUT.tar [REF]"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "$1" && pwd)"
OUT="$2"
[ -f "$BUNDLE/BUILD-INFO.json" ] || die "$BUNDLE is not a node bundle (make node-bundle)"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$BUNDLE/BUILD-INFO.json" | head -1)"
REF="${3:-switchyard.dev/node:$VERSION}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
CTR="${CTR:-$ROOT/.cache/debian/containerd-2.1/usr/bin/ctr}"
EPOCH="${SOURCE_DATE_EPOCH:-0}"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (install busybox-static)"
[ -x "$CTR" ] || die "$CTR not found (scripts/install-deps.sh unpacks it)"
case "$(uname -m)" in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) die "unsupported architecture $(uname -m)" ;; esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-node-image.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
umask 022
R="$WORK/rootfs"
mkdir -p "$R"/{bin,etc,proc,sys,dev,root,run,tmp,host,usr/bin,usr/share/switchyard,lib64,opt,var/run/secrets}
chmod 1777 "$R/tmp"

# --- the bundle, a shell, ctr, the probe image ----------------------------------------
cp -a "$BUNDLE" "$R/opt/switchyard"
cp "$BUSYBOX" "$R/bin/busybox"
"$BUSYBOX" --list | while IFS= read -r a; do
  case "$a" in ''|busybox|*/*) continue ;; esac
  ln -sf busybox "$R/bin/$a"
done
cp "$CTR" "$R/usr/bin/ctr"
bash "$ROOT/scripts/build-image.sh" "$WORK/probe.tar" switchyard.dev/probe:latest 2>/dev/null
cp "$WORK/probe.tar" "$R/usr/share/switchyard/probe.tar"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"

# --- shared libraries: what ldd resolves on this machine, under their sonames ----------
KOFFI="$(find "$R/opt/switchyard/lib/node_modules/@koromix" -path "*/linux_*/koffi.node" | head -1)"
mkdir -p "$R/lib/x86_64-linux-gnu"
for bin in "$R/opt/switchyard/bin/node" "$R/usr/bin/ctr" $KOFFI; do
  ldd "$bin" | awk '/=> \//{print $1, $3} /^[ \t]*\/lib64\//{print "LD", $1}'
done | sort -u | while read -r name file; do
  if [ "$name" = LD ]; then cp -L "$file" "$R/lib64/$(basename "$file")"; else cp -L "$file" "$R/lib/x86_64-linux-gnu/$name"; fi
done
echo /lib/x86_64-linux-gnu >"$R/etc/ld.so.conf"
ldconfig -r "$R" 2>/dev/null || true
env -i PATH=/usr/sbin:/sbin chroot "$R" /opt/switchyard/bin/node -e 'require("/opt/switchyard/lib/node_modules/koffi")' \
  || die "node cannot load koffi inside the image"
env -i PATH=/usr/sbin:/sbin chroot "$R" /usr/bin/ctr --version >/dev/null || die "ctr does not run inside the image"

# --- one layer, deterministic ------------------------------------------------------------
dtar() {
  tar --create --file="$2" --directory="$1" --format=gnu --sort=name --numeric-owner --owner=0 --group=0 \
    --mtime="@$EPOCH" --no-recursion --null --files-from=-
}
(cd "$R" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z) | dtar "$R" "$WORK/layer.tar"

L="$WORK/layout"
mkdir -p "$L/blobs/sha256"
put() { local h; h="$(sha256sum "$1" | cut -d' ' -f1)"; mv "$1" "$L/blobs/sha256/$h"; echo "$h"; }
LAYER_SIZE="$(stat -c %s "$WORK/layer.tar")"
LAYER="$(put "$WORK/layer.tar")"
CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
printf '%s' "{\"created\":\"$CREATED\",\"architecture\":\"$ARCH\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/opt/switchyard/bin:/usr/bin:/bin\"],\"Entrypoint\":[\"/opt/switchyard/bin/switchyard\",\"node\"],\"Cmd\":[\"install\",\"--host-root\",\"/host\",\"--stay\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$LAYER\"]},\"history\":[{\"created\":\"$CREATED\",\"created_by\":\"scripts/build-node-image.sh\"}]}" >"$WORK/config.json"
CONFIG_SIZE="$(stat -c %s "$WORK/config.json")"
CONFIG="$(put "$WORK/config.json")"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$CONFIG\",\"size\":$CONFIG_SIZE},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$LAYER\",\"size\":$LAYER_SIZE}]}" >"$WORK/manifest.json"
MANIFEST_SIZE="$(stat -c %s "$WORK/manifest.json")"
MANIFEST="$(put "$WORK/manifest.json")"
TAG="${REF##*:}"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$MANIFEST\",\"size\":$MANIFEST_SIZE,\"platform\":{\"architecture\":\"$ARCH\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$REF\",\"org.opencontainers.image.ref.name\":\"$TAG\"}}]}" >"$L/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
(cd "$L" && { printf '%s\0' oci-layout index.json blobs blobs/sha256; find blobs/sha256 -type f -printf '%p\0' | LC_ALL=C sort -z; }) | dtar "$L" "$WORK/out.tar"
mkdir -p "$(dirname "$OUT")"
mv -f "$WORK/out.tar" "$OUT"
echo "build-node-image: wrote $OUT ($REF, $(du -h "$OUT" | cut -f1))" >&2
