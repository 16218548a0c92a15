#!/usr/bin/env bash
# make demo: a private containerd 2.1.9 (Debian sid, unpacked into .cache/debian by
# scripts/install-deps.sh; temp dirs, its own socket) with Switchyard registered, real
# containers through it, their events, and a clean exit whatever happens.
# DEMO_CONTAINERD=1.6 uses the host's containerd 1.6 instead, 1.7 trixie's 1.7.24.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

[ "$(id -u)" = 0 ] || { echo "make demo must run as root (containerd and runc need it)" >&2; exit 1; }
make --no-print-directory install >/dev/null

DIR="$(mktemp -d /tmp/switchyard-demo-XXXXXX)"
SOCK="$DIR/containerd.sock"
NS="demo-$$"
IMG="switchyard.test/busybox:latest"
case "${DEMO_CONTAINERD:-2.1}" in
  1.6) BIN=/usr/bin; CONFIG_VERSION=2 ;;
  1.7) BIN="$ROOT/.cache/debian/containerd-1.7/usr/bin"; CONFIG_VERSION=2 ;;
  2.1) BIN="$ROOT/.cache/debian/containerd-2.1/usr/bin"; CONFIG_VERSION=3 ;;
  *) echo "DEMO_CONTAINERD=${DEMO_CONTAINERD}: want 1.6, 1.7 or 2.1" >&2; exit 2 ;;
esac
[ -x "$BIN/containerd" ] || { echo "no containerd in $BIN: run scripts/install-deps.sh" >&2; exit 1; }
CTR=("$BIN/ctr" --address "$SOCK" -n "$NS")
RT=io.containerd.switchyard.v2

cleanup() {
  set +e
  [ -n "${EVENTS_PID:-}" ] && kill "$EVENTS_PID" 2>/dev/null
  for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 0.5
  for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
  for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers delete "$c" >/dev/null 2>&1; done
  [ -n "${CTRD_PID:-}" ] && kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null
  pkill -f -- "-address $SOCK" 2>/dev/null
  grep " $DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$DIR" "/run/switchyard/runc/$NS" "/run/switchyard/decisions/$NS"
  # runc makes /<ns> in every cgroup hierarchy as the parent of /<ns>/<id> and leaves it.
  for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  return 0
}
trap cleanup EXIT INT TERM

cat > "$DIR/config.toml" <<TOML
version = $CONFIG_VERSION
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
TOML

echo "== starting a private $("$BIN/containerd" --version | cut -d' ' -f1,3) in $DIR (Switchyard found on PATH as containerd-shim-switchyard-v2)"
# A clean environment, as systemd would give it; the shims inherit it.
env -i PATH=/usr/local/sbin:/usr/local/bin:$BIN:/usr/sbin:/usr/bin:/sbin:/bin "$BIN/containerd" --config "$DIR/config.toml" >"$DIR/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done

echo "== importing a busybox image built from busybox-static"
bash scripts/build-image.sh .cache/busybox-oci.tar "$IMG" >/dev/null
"${CTR[@]}" images import --base-name switchyard.test/busybox .cache/busybox-oci.tar >/dev/null

"${CTR[@]}" events > "$DIR/events.txt" &
EVENTS_PID=$!
sleep 0.3

echo "== ctr run --runtime $RT $IMG hello echo 'hello from Switchyard'"
"${CTR[@]}" run --rm --runtime "$RT" "$IMG" hello echo "hello from Switchyard"

echo "== an exit code: sh -c 'exit 7'"
set +e; "${CTR[@]}" run --rm --runtime "$RT" "$IMG" seven sh -c 'exit 7'; echo "exit status: $?"; set -e

echo "== a kill: a sleeping container, SIGKILL from ctr task kill"
"${CTR[@]}" run -d --runtime "$RT" "$IMG" sleeper sleep 1000 >/dev/null
"${CTR[@]}" tasks ls
B="$DIR/state/io.containerd.runtime.v2.task/$NS/sleeper"
if [ -f "$B/bootstrap.json" ]; then echo "   how containerd connects (bootstrap.json): $(cat "$B/bootstrap.json")"; else echo "   how containerd connects (address): $(cat "$B/address")"; fi
"${CTR[@]}" tasks kill -s SIGKILL sleeper
sleep 0.5
"${CTR[@]}" tasks ls
"${CTR[@]}" tasks delete sleeper >/dev/null; "${CTR[@]}" containers delete sleeper

# gVisor: Debian's runsc, unpacked by scripts/debian-cache.sh (or one on PATH), chosen per task by annotation.
RUNSC="$ROOT/.cache/debian/runsc/usr/bin/runsc"
[ -x "$RUNSC" ] || RUNSC="$(command -v runsc || true)"
if [ -n "$RUNSC" ]; then
  cat > "$DIR/switchyard.toml" <<TOML
[runtimes.runsc]
binary = "$RUNSC"
root = "$DIR/runsc"
[runtimes.runsc.runsc_config]
# The host kernel's network stack inside each task's own namespace: runsc 20240729's own
# stack cannot start on Linux >= 6.11 (gVisor issue 10704); switchyard doctor says so.
network = "host"
TOML
  echo "== the same image in gVisor ($("$RUNSC" --version | head -n 1)): switchyard.dev/runtime=runsc"
  "${CTR[@]}" run --rm --annotation switchyard.dev/runtime=runsc --runtime-config-path "$DIR/switchyard.toml" --runtime "$RT" "$IMG" gvisor \
    sh -c 'dmesg | head -n 1; echo "kernel $(uname -r) (the host runs $0)"' "$(uname -r)"
else
  echo "== runsc not found: run scripts/install-deps.sh to see the gVisor part"
fi

echo "== the Switchyard daemon serving namespace $NS"
pgrep -af "containerd-shim-switchyard-v2.*-address $SOCK" || true

sleep 0.3
echo "== task events containerd received"
grep -E '/tasks/' "$DIR/events.txt" | sed -E 's/^([^ ]+ [^ ]+) [^ ]+ [^ ]+ [^ ]+ /\1 /' | cut -c1-160
echo "== done; cleaning up"
