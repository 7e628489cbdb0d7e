#!/usr/bin/env bash
# `make dist`'s tarball on a clean Debian 12 with no Swift: a minbase bookworm made by debootstrap (run as
# root; Debian's mirror is all it needs), the tarball and the MiniLM model folder copied in, `brevity cpu-check`
# run inside (its oneDNN must open from the tarball's lib/), `brevity serve` started inside with chroot, and
# /health and one summary asked for from outside.
# Usage: deploy/check-dist.sh [ROOTFS]   (default /tmp/brevity-bookworm; made when absent)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOTFS="${1:-/tmp/brevity-bookworm}"
PORT="${PORT:-8799}"
TAR=$(ls -t dist/brevity-*-linux-x86_64.tar.xz | head -1)
[ -d "$ROOTFS/usr" ] || debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
rm -rf "$ROOTFS/opt/brevity" "$ROOTFS/opt/model" && mkdir -p "$ROOTFS/opt/brevity"
tar -xJf "$TAR" -C "$ROOTFS/opt/brevity" --strip-components=1
cp -r models/all-MiniLM-L6-v2 "$ROOTFS/opt/model"
# /proc as a real system has it (the loader reads /proc/self/exe to resolve the binary's $ORIGIN rpath)
mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
echo "inside: $(chroot "$ROOTFS" sh -c '. /etc/os-release; echo $PRETTY_NAME'), swift: $(chroot "$ROOTFS" sh -c 'command -v swift || ls /usr/lib/swift 2>/dev/null || echo none')"
# the tarball's own oneDNN opens (a minbase Debian has no libdnnl, libgomp or libOpenCL of its own)
ONEDNN=$(chroot "$ROOTFS" /opt/brevity/bin/brevity cpu-check --tier portable | grep '^onednn: ')
echo "$ONEDNN"
case "$ONEDNN" in "onednn: oneDNN "*" from /opt/brevity/lib/libdnnl.so.2") ;;
  *) echo "check-dist: oneDNN did not open from the tarball's lib/" >&2; exit 1;; esac
chroot "$ROOTFS" /opt/brevity/bin/brevity serve --model /opt/model --host 127.0.0.1 --port "$PORT" --log-level warning &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; umount "$ROOTFS/proc" 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/health"; echo
curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/summarize" \
  -d '{"texts": ["The council approved the budget on Tuesday after a long debate. Schools get more money. Roads will be repaired next year."], "max_length": 60}'
echo
