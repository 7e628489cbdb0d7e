#!/usr/bin/env bash
# deploy/Dockerfile's runtime image, built and started on a machine with no registry and no container
# runtime that can run containers (run as root; podman from Debian, Debian's mirror reachable):
#  1. a debian:bookworm-slim stand-in: a minbase bookworm made by debootstrap, `podman import`ed under
#     that name, so the Dockerfile's FROM resolves with --pull=never;
#  2. the Dockerfile's last stage, unchanged except that `COPY --from=build` takes what the build stage
#     makes (`make dist`'s tarball unpacked, plus the MiniLM folder) from the build context instead;
#     `podman build --isolation chroot` runs its RUN steps (apt-get, useradd);
#  3. the image's configuration read back (user, stop signal, health check, volume, entrypoint, env);
#  4. `podman image mount` and chroot start the image's ENTRYPOINT as its USER with its ENV and /data
#     bound as the volume would be (`podman run` needs cgroups this machine does not give); then /health,
#     a summary, the HEALTHCHECK command inside, and SIGTERM, after which the server must exit 0.
# The build stage (FROM swift:6.3-bookworm) needs a registry; hadolint checks it in `make deploy-check`.
# Usage: deploy/check-image.sh [WORKDIR]   (default /tmp/brevity-image; the rootfs is kept there)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/brevity-image}"
PORT="${PORT:-8798}"
IMAGE=localhost/brevity:check
TAR=$(ls -t dist/brevity-*-linux-x86_64.tar.xz 2>/dev/null | head -1 || true)
[ -n "$TAR" ] || { echo "no dist/brevity-*.tar.xz: run make dist first" >&2; exit 2; }
[ -f models/all-MiniLM-L6-v2/model.safetensors ] || { echo "models/all-MiniLM-L6-v2 missing: run make models" >&2; exit 2; }
command -v podman >/dev/null || { echo "podman missing: apt-get install podman" >&2; exit 2; }
mkdir -p "$WORK"
step() { echo "== $*"; }

step "base image: debootstrap minbase bookworm as debian:bookworm-slim"
if ! podman image exists docker.io/library/debian:bookworm-slim; then
    [ -d "$WORK/rootfs/usr" ] || debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >/dev/null
    # with the real image's configuration (its PATH is what the Dockerfile's ENV PATH extends)
    tar -C "$WORK/rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -c . | podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim >/dev/null
fi

step "build context: the build stage's /out/brevity from $TAR"
CTX="$WORK/context"
rm -rf "$CTX" && mkdir -p "$CTX/brevity"
tar -xJf "$TAR" -C "$CTX/brevity" --strip-components=1
cp -r models/all-MiniLM-L6-v2 "$CTX/brevity/all-MiniLM-L6-v2"
# The runtime stage: from the last FROM to the end, with the one COPY from the build stage redirected.
awk '/^FROM /{n=NR} {line[NR]=$0} END{for(i=n;i<=NR;i++) print line[i]}' deploy/Dockerfile > "$CTX/Containerfile"
grep -qx 'COPY --from=build /out/brevity /opt/brevity' "$CTX/Containerfile" \
    || { echo "deploy/Dockerfile's runtime stage no longer copies /out/brevity from the build stage; update this script" >&2; exit 1; }
sed -i 's|^COPY --from=build /out/brevity /opt/brevity$|COPY brevity /opt/brevity|' "$CTX/Containerfile"
head -1 "$CTX/Containerfile"

step "podman build --isolation chroot"
podman build --isolation chroot --pull=never --format docker -t "$IMAGE" -f "$CTX/Containerfile" "$CTX" > "$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log"; exit 1; }
podman image inspect "$IMAGE" --format 'size {{.Size}} bytes'

step "image configuration"
cfg() { podman image inspect "$IMAGE" --format "$1"; }
USER_ID=$(cfg '{{.Config.User}}')
STOP=$(cfg '{{.Config.StopSignal}}')
HEALTH=$(podman image inspect "$IMAGE" --format '{{json .HealthCheck}}' 2>/dev/null || true)
[ -n "$HEALTH" ] && [ "$HEALTH" != "null" ] || HEALTH=$(podman image inspect "$IMAGE" --format '{{json .Config.Healthcheck}}')
VOLUMES=$(cfg '{{json .Config.Volumes}}')
ENTRY=$(cfg '{{json .Config.Entrypoint}}')
echo "user $USER_ID, stop signal $STOP, volumes $VOLUMES, entrypoint $ENTRY"
echo "healthcheck $HEALTH"
[ "$USER_ID" = 10001 ] || { echo "USER is '$USER_ID', expected 10001" >&2; exit 1; }
[ "$STOP" = SIGTERM ] || { echo "STOPSIGNAL is '$STOP', expected SIGTERM" >&2; exit 1; }
grep -q '"/data"' <<<"$VOLUMES" || { echo "no /data volume" >&2; exit 1; }
grep -q '/health' <<<"$HEALTH" || { echo "no HEALTHCHECK on /health" >&2; exit 1; }
[ "$ENTRY" = '["brevity","serve"]' ] || { echo "ENTRYPOINT is $ENTRY" >&2; exit 1; }

step "start the image's entrypoint in a chroot of the mounted image"
MNT=$(podman image mount "$IMAGE")
mkdir -p "$WORK/data" && chown 10001 "$WORK/data"
mount --bind "$WORK/data" "$MNT/data"
mount -t proc proc "$MNT/proc"
cp /etc/resolv.conf "$WORK/resolv.conf" 2>/dev/null || true
# the image's ENV, then what `docker run -e` would add: the port, and no hub (the fallback model serves)
mapfile -t ENVS < <(podman image inspect "$IMAGE" --format '{{range .Config.Env}}{{println .}}{{end}}' | grep -v '^$')
ENVS+=("PORT=$PORT" "HF_HUB_OFFLINE=1" "HOME=/home/brevity")
cleanup() {
    [ -n "${SERVER:-}" ] && kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    umount "$MNT/proc" "$MNT/data" 2>/dev/null || true
    podman image unmount "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# oneDNN comes from the tarball's lib/ (the runtime stage installs no libdnnl2)
ONEDNN=$(env -i "${ENVS[@]}" /usr/sbin/chroot --userspec=10001:10001 "$MNT" sh -c 'cd /home/brevity && brevity cpu-check --tier portable' | grep '^onednn: ')
echo "$ONEDNN"
case "$ONEDNN" in "onednn: oneDNN "*" from /opt/brevity/lib/libdnnl.so.2") ;;
  *) echo "oneDNN did not open from /opt/brevity/lib" >&2; exit 1;; esac
env -i "${ENVS[@]}" /usr/sbin/chroot --userspec=10001:10001 "$MNT" sh -c 'cd /home/brevity && exec brevity serve --host 127.0.0.1' \
    > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
echo "process user: $(ps -o user= -p "$(pgrep -P $SERVER brevity || echo $SERVER)" 2>/dev/null || echo '?')"
curl -sf "http://127.0.0.1:$PORT/health"; echo
curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/summarize" \
  -d '{"texts": ["The council approved the budget on Tuesday after a long debate. Schools get more money. Roads will be repaired next year. The mayor thanked the staff."], "max_length": 60}'
echo
# the HEALTHCHECK's own command, inside the image
HC_CMD=$(podman image inspect "$IMAGE" --format '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' | tail -1)
env -i "${ENVS[@]}" /usr/sbin/chroot --userspec=10001:10001 "$MNT" sh -c "$HC_CMD" && echo "HEALTHCHECK command: healthy"

step "STOPSIGNAL SIGTERM: the server drains and exits 0"
kill -TERM "$SERVER"
set +e; wait "$SERVER"; RC=$?; set -e
SERVER=
echo "exit code $RC"
[ "$RC" = 0 ] || { tail -20 "$WORK/serve.log"; exit 1; }
echo "image check passed"
