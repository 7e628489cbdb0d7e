#!/usr/bin/env bash
# Capacity under the default admission policy (docs/reliability.md, "The default serves the originals' test"):
# a default `brevity serve` (no --latency-target: `client`, 15 s) of bart-large-cnn's shape, the originals'
# request (max_length 60, min_length 10, the model's 4 beams), their three `hey` scenarios (hey waits 20 s),
# then ten times the capacity offered open-loop. Loopback only; every run bounded in time.
#   1. hey -z 60s -c 8, one text        2. hey -z 60s -c 16, one text        3. hey -z 30s -c 8, four texts
#   4. open loop at 10x scenario 1's rate of 200s for 60 s
#   5. with MAX_BATCH_TOKENS set: the same rate of the longest inputs (past the 1,024-token window, so cut
#      to it) at max_length LONG_MAX_LENGTH (default 256: with FIFTH=1 one such text at 4 beams fits the
#      budget) for 60 s; the server's peak RSS (VmHWM) is reported against the weights + the budget +
#      256 MiB. BREVITY_REQUEST_TIMEOUT bounds how long the open-loop phases wait under TARGET=none.
# hey gives the client's view (status codes, client errors such as timeouts); the server's request log gives
# every answer's duration by status, so "every 200 within T" is checked on all of them, not a percentile.
# Usage: bench/capacity/run.sh [MODEL_FOLDER]  (default bench/data/bart-large-cnn-random: bench/bart/make_model.py)
# TARGET=... passes --latency-target (default: none given); MAX_BATCH_TOKENS=... --max-batch-tokens
# (FIFTH=1: a fifth of the weights' size in tokens); SECONDS_SCALE=0.5 shortens the runs.
# Results: bench/out/capacity.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-bench/data/bart-large-cnn-random}"
PORT="${PORT:-8767}"
BIN="${BIN:-.build/release/brevity}"
SCALE="${SECONDS_SCALE:-1}"
T_LIMIT=15
command -v hey >/dev/null || { apt-get install -y -qq hey >/dev/null || sudo apt-get install -y -qq hey >/dev/null; }
mkdir -p bench/out
OUT=bench/out/capacity.md
LOG=bench/out/capacity-server.log
URL="http://127.0.0.1:$PORT/summarize"
TEXT="The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."
ONE=bench/out/capacity-one.json; FOUR=bench/out/capacity-four.json
python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT" > "$ONE"
python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]] * 4, "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT" > "$FOUR"

LONG=bench/out/capacity-long.json
python3 -c 'import json,sys; print(json.dumps({"texts": [" ".join([sys.argv[1]] * 40)], "max_length": int(sys.argv[2]), "min_length": 10}))' "$TEXT" "${LONG_MAX_LENGTH:-256}" > "$LONG"
WEIGHTS=$(du -cb "$MODEL"/*.safetensors | tail -1 | cut -f1)
if [ "${FIFTH:-0}" = 1 ]; then   # bytes per token: a key and a value per decoder layer plus the encoder row (MemoryBudget)
  MAX_BATCH_TOKENS=$(python3 -c "import json; c=json.load(open('$MODEL/config.json')); d=c['d_model']; print(int($WEIGHTS / 5 // ((2 * c['decoder_layers'] + 1) * d * 4)))")
fi
"$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --log-level info ${TARGET:+--latency-target "$TARGET"} \
  ${MAX_BATCH_TOKENS:+--max-batch-tokens "$MAX_BATCH_TOKENS"} > "$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "server not ready"; cat "$LOG"; exit 1; }
TARGET_NAME=$(python3 -c "import re,sys; m=re.search(r'latency_target=(.*?) (seconds|step_ms)', open('$LOG').read()); print(m.group(1) if m else '?')")
BUDGET=$(curl -sf "http://127.0.0.1:$PORT/health" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("memory_budget_bytes"))')

{
  echo "# Capacity run $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), model $MODEL"
  echo "latency target: ${TARGET:-default} ($TARGET_NAME); every 200 must finish within $T_LIMIT s; memory budget: ${MAX_BATCH_TOKENS:-none} tokens ($BUDGET bytes); weights $WEIGHTS bytes"
  echo
  echo "| scenario | 200 | 503 | other statuses | client errors | 200s/s | 200 p50 s | 200 p95 s | 200 max s | 200s over ${T_LIMIT} s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} > "$OUT"

# The server log's answers to /summarize from line $1 on: status and duration, summarized for scenario $2
# over $3 seconds; hey's report (the file $4, if any) adds the client errors.
summarize() {
  python3 - "$LOG" "$1" "$2" "$3" "$T_LIMIT" "${4:-/dev/null}" <<'PY'
import re, sys
log, start, name, seconds, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
hey = open(sys.argv[6]).read()
lines = open(log, errors="replace").read().split("\n")[start:]
answers = [(int(m.group(2)), float(m.group(1)) / 1000) for l in lines if "path=/summarize" in l
           for m in [re.search(r"duration_ms=([\d.]+).*status=(\d+)", l)] if m]
ok = sorted(d for s, d in answers if s == 200)
def pct(p): return f"{ok[min(len(ok) - 1, int(p / 100 * len(ok)))]:.2f}" if ok else "-"
others = {}
for s, _ in answers:
    if s not in (200, 503): others[s] = others.get(s, 0) + 1
err = re.search(r"Error distribution:(.*)", hey, re.S)
errors = sum(int(x) for x in re.findall(r"\[(\d+)\]", err.group(1))) if err else 0
late = sum(1 for d in ok if d > limit)
print(f"| {name} | {len(ok)} | {sum(1 for s, _ in answers if s == 503)} | {others or '-'} | {errors} | "
      f"{len(ok) / seconds:.2f} | {pct(50)} | {pct(95)} | {ok[-1] if ok else 0:.2f} | {late} |")
PY
}

scenario() {  # name concurrency seconds body
  local d; d=$(python3 -c "print(max(5, round($3 * $SCALE)))")
  local from; from=$(wc -l < "$LOG")
  hey -z "${d}s" -c "$2" -m POST -T application/json -D "$4" "$URL" > bench/out/capacity-hey.txt 2>&1 || true
  sleep 2   # answers in flight when hey stopped reach the log
  summarize "$from" "$1" "$d" bench/out/capacity-hey.txt | tee -a "$OUT"
}
scenario "1: hey -c 8, one text" 8 60 "$ONE"
RATE=$(python3 -c "import re; r=open('$OUT').read().split('\n')[-2].split('|'); print(round(10 * float(r[6]), 2))")
scenario "2: hey -c 16, one text" 16 60 "$ONE"
scenario "3: hey -c 8, four texts" 8 30 "$FOUR"
d=$(python3 -c "print(max(5, round(60 * $SCALE)))")
from=$(wc -l < "$LOG")
python3 bench/reliability/load.py open-loop "$URL" "$ONE" "$RATE" "$d" --pid "$SERVER" > bench/out/capacity-overload.json
sleep 2
summarize "$from" "4: open loop, $RATE req/s (10x scenario 1)" "$d" | tee -a "$OUT"
if [ -n "${MAX_BATCH_TOKENS:-}" ]; then
  from=$(wc -l < "$LOG")
  python3 bench/reliability/load.py open-loop "$URL" "$LONG" "$RATE" "$d" --pid "$SERVER" > bench/out/capacity-flood.json
  sleep 2
  summarize "$from" "5: open loop, $RATE req/s of 1,024-token inputs at max_length ${LONG_MAX_LENGTH:-256}" "$d" | tee -a "$OUT"
fi
PEAK=$(awk '/VmHWM/ {print $2 * 1024}' "/proc/$SERVER/status")
echo >> "$OUT"
[ -n "${MAX_BATCH_TOKENS:-}" ] && python3 -c "
w, b, p = $WEIGHTS, ${BUDGET/None/0}, $PEAK
bound = w + b + (256 << 20)
print(f'server peak RSS (VmHWM): {p / 2**20:.0f} MiB; weights {w / 2**20:.0f} MiB + budget {b / 2**20:.0f} MiB + 256 MiB = {bound / 2**20:.0f} MiB: '
      + ('within' if p <= bound else 'OVER'))" >> "$OUT"
[ -z "${MAX_BATCH_TOKENS:-}" ] && echo "server peak RSS (VmHWM): $((PEAK >> 20)) MiB (no memory budget)" >> "$OUT"
echo "overload, the client's view (load.py): $(python3 -c "import json; j=json.load(open('bench/out/capacity-overload.json')); print({k: j[k] for k in ('requests', 'codes', 'ok_p95_s', 'ok_max_s')}, 'server max RSS MiB:', (j.get('server') or {}).get('max_rss_mib'))")" >> "$OUT"
cat "$OUT"
