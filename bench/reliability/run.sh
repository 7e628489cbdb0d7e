#!/usr/bin/env bash
# The service under load, for docs/reliability.md (loopback only, every step bounded in time):
#   1. unloaded: the originals' request, one at a time (the latency admitted requests are held to)
#   2. the originals' `hey -z 60s -c 8` (client timeout 20 s) with the default latency target, then with
#      none (every request admitted, the pre-policy behaviour), and `-t 0` with none (the capacity)
#   3. overload: the originals' request at ten times that capacity for 2 minutes (open loop), with the
#      server's resident memory and open files sampled
#   4. slow clients: connections trickling headers and bodies a byte a second beside a normal client
#   5. soak (SOAK_SECONDS, default off): steady load at half the capacity, memory and file descriptors
# Usage: bench/reliability/run.sh [MODEL_FOLDER]  (default bench/data/bart-large-cnn-random: make_model.py)
# STEPS="unloaded hey overload slow soak" chooses steps (HEY_RUNS="auto none capacity" the hey runs;
# CAPACITY=req/s stands in for the capacity run when it is skipped); BIN=path runs another build; HEY_SECONDS shortens
# the hey runs. Results: bench/out/reliability.md and bench/out/reliability-*.json
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-bench/data/bart-large-cnn-random}"
PORT="${PORT:-8766}"
BIN="${BIN:-.build/release/brevity}"
STEPS="${STEPS:-unloaded hey overload slow}"
HEY_SECONDS="${HEY_SECONDS:-60}"
SOAK_SECONDS="${SOAK_SECONDS:-1800}"
command -v hey >/dev/null || { apt-get install -y -qq hey >/dev/null || sudo apt-get install -y -qq hey >/dev/null; }
mkdir -p bench/out
OUT=bench/out/reliability.md
URL="http://127.0.0.1:$PORT/summarize"
BODY=bench/out/reliability-body.json
python3 -c 'import json; print(json.dumps({"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' > "$BODY"
SERVER=""
start() {  # latency target
  stop
  "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --log-level warning --latency-target "$1" \
    > "bench/out/reliability-server-$1.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && return 0; sleep 0.1; done
  echo "server not ready"; cat "bench/out/reliability-server-$1.log"; exit 1
}
stop() { if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi; }
trap stop EXIT
hey_run() {  # label target -t
  local r; r=$(hey -z "${HEY_SECONDS}s" -c 8 -t "$3" -m POST -T application/json -D "$BODY" "$URL")
  python3 - "$1" <<PY | tee -a "$OUT"
import re, sys
r = """$r"""
codes = ", ".join(f"{a}: {b}" for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r))
err = re.search(r"Error distribution:(.*)", r, re.S)
errs = sum(int(x) for x in re.findall(r"\[(\d+)\]", err.group(1))) if err else 0
rps = re.search(r"Requests/sec:\s+([\d.]+)", r).group(1)
p50 = re.search(r"50%+ in ([\d.]+) secs", r); p95 = re.search(r"95%+ in ([\d.]+) secs", r)
print(f"| {sys.argv[1]} | {rps} | {p50.group(1) if p50 else '-'} | {p95.group(1) if p95 else '-'} | {codes or '-'} | {errs} |")
PY
}
echo "# Reliability run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs, model $MODEL" > "$OUT"
for step in $STEPS; do case $step in
unloaded)
  start auto
  echo "## unloaded (5 requests one at a time)" >> "$OUT"
  python3 bench/reliability/load.py sequential "$URL" "$BODY" 5 | tee bench/out/reliability-unloaded.json >> "$OUT" ;;
hey)
  echo "## hey -z ${HEY_SECONDS}s -c 8" >> "$OUT"
  echo "| run | req/s | p50 s | p95 s | status codes | client errors (timeouts) |" >> "$OUT"
  echo "| --- | --- | --- | --- | --- | --- |" >> "$OUT"
  for r in ${HEY_RUNS:-auto none capacity}; do case $r in
    auto) start auto; hey_run "latency target auto, -t 20" auto 20 ;;
    none) start none; hey_run "latency target none, -t 20" none 20 ;;
    capacity) start none; hey_run "latency target none, -t 0 (capacity)" none 0 ;;
  esac; done ;;
overload)
  CAP=$(grep -o 'capacity) | [0-9.]*' "$OUT" | tail -1 | awk '{print $3}' || true); CAP="${CAP:-${CAPACITY:-0.34}}"
  RATE=$(python3 -c "print(round(10 * $CAP, 2))")
  start auto
  echo "## overload: $RATE req/s offered (10x the capacity $CAP) for 120 s, latency target auto" >> "$OUT"
  python3 bench/reliability/load.py open-loop "$URL" "$BODY" "$RATE" 120 --pid "$SERVER" | tee bench/out/reliability-overload.json >> "$OUT" ;;
slow)
  start auto
  echo "## slow clients: 20 trickling headers + 20 trickling bodies (1 byte/s) for 60 s beside one normal client" >> "$OUT"
  python3 bench/reliability/load.py slow-clients "$URL" "$BODY" 60 20 --pid "$SERVER" | tee bench/out/reliability-slow.json >> "$OUT" ;;
soak)
  CAP="${CAPACITY:-0.34}"; RATE=$(python3 -c "print(round(0.5 * $CAP, 3))")
  start auto
  echo "## soak: $RATE req/s for $SOAK_SECONDS s" >> "$OUT"
  python3 bench/reliability/load.py open-loop "$URL" "$BODY" "$RATE" "$SOAK_SECONDS" --pid "$SERVER" | tee bench/out/reliability-soak.json >> "$OUT" ;;
esac; done
cat "$OUT"
