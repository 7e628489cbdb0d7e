#!/usr/bin/env bash
# Scale-out under the originals' 8-concurrent load: REPLICAS brevity replicas behind HAProxy
# (Debian's), `hey -c 8` for DURATION seconds through the balancer; at KILL_AT seconds replica 1 gets
# SIGTERM (it drains: /ready 503, in-flight texts finish, the process exits), and RESTART_AFTER seconds
# after it exits it starts again. Counts every answer by status and the throughput per 5-second window.
# Usage: bench/scaleout/run.sh [MODEL]  (default Tests/Fixtures/summarizer-tiny); REPLICAS=2 DURATION=40
# KILL_AT=12 RESTART_AFTER=3. Results: bench/out/scaleout.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-Tests/Fixtures/summarizer-tiny}"
REPLICAS="${REPLICAS:-2}"; DURATION="${DURATION:-40}"; KILL_AT="${KILL_AT:-12}"; RESTART_AFTER="${RESTART_AFTER:-3}"
export LB_PORT="${LB_PORT:-8790}"
BIN="${BIN:-.build/release/brevity}"
command -v haproxy >/dev/null || apt-get install -y -qq haproxy >/dev/null
command -v hey >/dev/null || apt-get install -y -qq hey >/dev/null
OUT=bench/out; mkdir -p "$OUT"
CFG=$(mktemp)
cp bench/scaleout/haproxy.cfg "$CFG"
for i in $(seq 1 "$REPLICAS"); do echo "    server r$i 127.0.0.1:$((LB_PORT + i)) check" >> "$CFG"; done
declare -A PIDS
start() {  # replica number
  "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port $((LB_PORT + $1)) --log-level warning > "$OUT/scaleout-r$1.log" 2>&1 &
  PIDS[$1]=$!
}
for i in $(seq 1 "$REPLICAS"); do start "$i"; done
haproxy -f "$CFG" -db > "$OUT/scaleout-haproxy.log" 2>&1 &
LB=$!
trap 'kill ${PIDS[@]} $LB 2>/dev/null; wait 2>/dev/null || true; rm -f "$CFG"' EXIT
for i in $(seq 1 "$REPLICAS"); do
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$((LB_PORT + i))/ready" >/dev/null && break; sleep 0.1; done
done
sleep 1
BODY='{"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."], "max_length": 60, "min_length": 10, "do_sample": false, "temperature": 1.0, "top_p": 1.0}'
T0=$(date +%s.%N)
hey -z "${DURATION}s" -c 8 -t 30 -m POST -T application/json -d "$BODY" -o csv "http://127.0.0.1:$LB_PORT/summarize" > "$OUT/scaleout-hey.csv" &
HEY=$!
sleep "$KILL_AT"
K=$(date +%s.%N)
kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" && CODE=0 || CODE=$?
E=$(date +%s.%N)
sleep "$RESTART_AFTER"
start 1
R=$(date +%s.%N)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$((LB_PORT + 1))/ready" >/dev/null && break; sleep 0.1; done
READY=$(date +%s.%N)
wait "$HEY"
python3 - "$OUT/scaleout-hey.csv" "$T0" "$K" "$E" "$R" "$READY" "$CODE" "$REPLICAS" <<'PY' | tee "$OUT/scaleout.md"
import csv, sys, collections
path, t0, k, e, r, ready, code, n = sys.argv[1], *map(float, sys.argv[2:7]), sys.argv[7], sys.argv[8]
rows = list(csv.DictReader(open(path)))
status = collections.Counter(row["status-code"] for row in rows)
ends = sorted(float(row["offset"]) + float(row["response-time"]) for row in rows)
k, e, r, ready = k - t0, e - t0, r - t0, ready - t0
print(f"{n} replicas behind HAProxy, hey -c 8 for {ends[-1]:.0f} s: {len(rows)} requests, status {dict(status)}")
print(f"replica 1: SIGTERM at {k:.1f} s, drained and exited (code {code}) at {e:.1f} s, restarted at {r:.1f} s, ready at {ready:.1f} s")
print()
print("| window (s) | answers | req/s |")
print("| --- | --- | --- |")
w = 5
for s in range(0, int(ends[-1]) + 1, w):
    c = sum(1 for x in ends if s <= x < s + w)
    print(f"| {s}-{s + w} | {c} | {c / w:.1f} |")
PY
