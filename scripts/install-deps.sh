#!/usr/bin/env bash
# Install everything Switchyard's build and tests need on a Debian 12 machine.
#
# Idempotent and fast when everything is already present:
#   - Debian packages are checked with `dpkg -s` first; apt runs only for missing ones,
#     and `apt-get update` runs only if the first install attempt fails.
#   - `npm ci` runs only if node_modules is missing or package-lock.json is newer than
#     node_modules/.package-lock.json.
#
# Usage: scripts/install-deps.sh [--no-npm] [--no-apt]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Packages the e2e tests use:
#   containerd      the daemon and `ctr` (1.6 on Debian 12)
#   runc, crun      OCI runtimes the shim drives
#   busybox-static  the only binary in the test image (scripts/build-image.sh)
#   criu            checkpoint/restore tests
#   util-linux      umount/nsenter used by the e2e harness cleanup
#   tar, coreutils  image build (GNU tar, sha256sum, stat); essential, listed for clarity
#   containernetworking-plugins  ptp/host-local/loopback for pods with their own netns
#   binutils        objdump: what the node bundle needs of a host (glibc, libstdc++)
APT_PACKAGES=(containerd runc crun busybox-static criu util-linux tar coreutils containernetworking-plugins binutils)

# From Debian's newer suites, unpacked into .cache/debian/NAME by scripts/debian-cache.sh
# (the host keeps bookworm's containerd 1.6 and runc 1.1.5; trixie's and sid's runc need
# glibc 2.38). Pinned so that every run tests the same builds.
EXTRA_PACKAGES=(
  containerd-1.7=containerd=1.7.24~ds1-6+deb13u1
  containerd-2.1=containerd=2.1.9+ds1-5
  runsc=runsc=0.0~20240729.0-4~bpo12+2
)

DO_APT=1
DO_NPM=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) DO_APT=0 ;;
    --no-npm) DO_NPM=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "install-deps: $*" >&2; }
die() { echo "install-deps: ERROR: $*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi
fi

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@"
}

if [ "$DO_APT" = 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    if ! apt_install "${missing[@]}"; then
      log "apt-get install failed; running apt-get update and retrying"
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
      apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
    fi
  else
    log "Debian packages present: ${APT_PACKAGES[*]}"
  fi
  # criu lives in /usr/sbin, which a normal user's PATH lacks (the tests that run it are root's).
  for c in containerd ctr runc crun busybox criu; do
    PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$c" >/dev/null 2>&1 || die "command '$c' not found on PATH after install"
  done
  bash "$ROOT/scripts/debian-cache.sh" "${EXTRA_PACKAGES[@]}"
fi

if [ "$DO_NPM" = 1 ]; then
  cd "$ROOT"
  command -v node >/dev/null 2>&1 || die "node is not installed (Node >= 20 required)"
  command -v npm >/dev/null 2>&1 || die "npm is not installed"
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
     || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "running npm ci"
    npm ci --no-audit --no-fund
  else
    log "node_modules up to date"
  fi
  # Tests run compiled from dist/, so package.json drops tap's TypeScript plugin (it loads
  # ts-node into every test process: ~5 s each). tap then needs its test class rebuilt
  # once for that plugin set; do it here rather than racing inside parallel tap runs.
  if grep -q '@tapjs/typescript' node_modules/@tapjs/test/test-built/dist/esm/index.js 2>/dev/null; then
    log "building tap's test class without the TypeScript plugin"
    node_modules/.bin/tap build >/dev/null
  fi
  # npm 11 blocks dependency install scripts by default; koffi ships prebuilt binaries
  # and must load without its install script.
  if ! node -e "require('koffi')" >/dev/null 2>&1; then
    node -e "require('koffi')" || true
    die "the 'koffi' native module does not load (see the error above). Its prebuilt binary for $(node -p 'process.platform + "-" + process.arch') may be missing; try 'npm rebuild koffi' or reinstall with install scripts allowed."
  fi
fi

log "done"
