#!/usr/bin/env bash
# Scale-out under the originals' 8-concurrent load: REPLICAS brevity replicas behind HAProxy
# (Debian's), `hey -c 8` for DURATION seconds through the balancer; at KILL_AT seconds replica 1 gets
# KILL_SIGNAL: TERM (the default) drains it (/ready 503, in-flight texts finish, the process exits); KILL
# ends it mid-work, as an OOM kill or a lost node would (its in-flight requests see their connections
# reset and HAProxy sends them to the other replica). RESTART_AFTER seconds after it exits the harness
# starts it again, as Kubernetes would, and waits until it is ready. Counts every answer by status and
# the client's errors (hey's error distribution: a lost request shows there).
# Usage: bench/scaleout/run.sh [MODEL]  (default Tests/Fixtures/summarizer-tiny); REPLICAS=2 DURATION=40
# KILL_AT=12 RESTART_AFTER=3 KILL_SIGNAL=TERM. Results: bench/out/scaleout.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-Tests/Fixtures/summarizer-tiny}"
REPLICAS="${REPLICAS:-2}"; DURATION="${DURATION:-40}"; KILL_AT="${KILL_AT:-12}"; RESTART_AFTER="${RESTART_AFTER:-3}"
KILL_SIGNAL="${KILL_SIGNAL:-TERM}"
export LB_PORT="${LB_PORT:-8790}"
BIN="${BIN:-.build/release/brevity}"
command -v haproxy >/dev/null || apt-get install -y -qq haproxy >/dev/null
command -v hey >/dev/null || apt-get install -y -qq hey >/dev/null
OUT=bench/out; mkdir -p "$OUT"
CFG=$(mktemp)
STATS="$CFG.sock"
# the shipped configuration, with a stats socket so the run can report HAProxy's retries and redispatches
sed "s|^global$|global\n    stats socket $STATS|" bench/scaleout/haproxy.cfg > "$CFG"
for i in $(seq 1 "$REPLICAS"); do echo "    server r$i 127.0.0.1:$((LB_PORT + i)) check" >> "$CFG"; done
declare -A PIDS
start() {  # replica number
  "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port $((LB_PORT + $1)) --log-level warning > "$OUT/scaleout-r$1.log" 2>&1 &
  PIDS[$1]=$!
}
for i in $(seq 1 "$REPLICAS"); do start "$i"; done
haproxy -f "$CFG" -db > "$OUT/scaleout-haproxy.log" 2>&1 &
LB=$!
trap 'kill ${PIDS[@]} $LB 2>/dev/null; wait 2>/dev/null || true; rm -f "$CFG" "$STATS"' EXIT
for i in $(seq 1 "$REPLICAS"); do
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$((LB_PORT + i))/ready" >/dev/null && break; sleep 0.1; done
done
sleep 1
BODY='{"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."], "max_length": 60, "min_length": 10, "do_sample": false, "temperature": 1.0, "top_p": 1.0}'
T0=$(date +%s.%N)
# hey's CSV has no line for a request that failed at the client, so its summary report counts those
hey -z "${DURATION}s" -c 8 -t 30 -m POST -T application/json -d "$BODY" "http://127.0.0.1:$LB_PORT/summarize" > "$OUT/scaleout-hey.txt" &
HEY=$!
sleep "$KILL_AT"
K=$(date +%s.%N)
kill "-$KILL_SIGNAL" "${PIDS[1]}"
wait "${PIDS[1]}" && CODE=0 || CODE=$?
E=$(date +%s.%N)
sleep "$RESTART_AFTER"
start 1
R=$(date +%s.%N)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$((LB_PORT + 1))/ready" >/dev/null && break; sleep 0.1; done
READY=$(date +%s.%N)
RETRIES=$(python3 - "$STATS" <<'PY'
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536): data += chunk
rows = list(csv.DictReader(io.StringIO(data.decode().lstrip("# "))))
b = next(r for r in rows if r["pxname"] == "replicas" and r["svname"] == "BACKEND")
print(f"HAProxy: {b['wretr']} retries, {b['wredis']} redispatched to another replica")
PY
)
READY_AGAIN=$(curl -sf "http://127.0.0.1:$((LB_PORT + 1))/ready" >/dev/null && echo yes || echo no)
wait "$HEY"
python3 - "$OUT/scaleout-hey.txt" "$T0" "$K" "$E" "$R" "$READY" "$CODE" "$REPLICAS" "$KILL_SIGNAL" "$READY_AGAIN" "$RETRIES" <<'PY' | tee "$OUT/scaleout.md"
import re, sys
path, t0, k, e, r, ready, code, n, sig, again = sys.argv[1], *map(float, sys.argv[2:7]), *sys.argv[7:11]
report = open(path).read()
status = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", report))
err = re.search(r"Error distribution:(.*)", report, re.S)
errors = sum(int(x) for x in re.findall(r"\[(\d+)\]", err.group(1))) if err else 0
rps = re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)
k, e, r, ready = k - t0, e - t0, r - t0, ready - t0
print(f"{n} replicas behind HAProxy, hey -c 8: {sum(map(int, status.values()))} answers, status {status}, "
      f"{errors} failed at the client, {rps} req/s")
what = "drained and exited" if sig == "TERM" else "killed, exited"
print(sys.argv[11])
print(f"replica 1: SIG{sig} at {k:.1f} s, {what} (code {code}) at {e:.1f} s, restarted at {r:.1f} s, "
      f"ready at {ready:.1f} s (ready after the run: {again})")
if errors:
    print("client errors:" + err.group(1).rstrip())
PY
