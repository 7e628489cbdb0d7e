#!/usr/bin/env bash
# The originals' three `hey` scenarios against Brevity on loopback (bounded in time):
#   1. 8 concurrent clients, one text each, for 30 s
#   2. 16 concurrent clients, one text each, for 60 s
#   3. 8 concurrent clients, 4 texts each, for 30 s
# Usage: bench/loadtest.sh [MODEL_FOLDER]   (default: Tests/Fixtures/summarizer-tiny)
# DURATION_SCALE=0.2 shortens every scenario (e.g. for a quick check); BIN=path runs another build;
# TEXT_FILE=path sends that text instead of the two-sentence default (e.g. a news article of
# Tests/Fixtures/extractive for models/all-MiniLM-L6-v2, which serves extractive summaries).
# Results: bench/out/loadtest.md (bench/out/loadtest-LABEL.md with LABEL=...)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-Tests/Fixtures/summarizer-tiny}"
PORT="${PORT:-8765}"
SCALE="${DURATION_SCALE:-1}"
command -v hey >/dev/null || { apt-get install -y -qq hey >/dev/null || sudo apt-get install -y -qq hey >/dev/null; }
BIN="${BIN:-.build/release/brevity}"
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null
mkdir -p bench/out
LOG=bench/out/loadtest-server.log
"$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --log-level warning >"$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "server not ready"; cat "$LOG"; exit 1; }

TEXT_DEFAULT="The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."
TEXT="${TEXT_FILE:+$(cat "$TEXT_FILE")}"
TEXT="${TEXT:-$TEXT_DEFAULT}"
ONE=$(python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT")
FOUR=$(python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]]*4, "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT")

OUT=bench/out/loadtest${LABEL:+-$LABEL}.md
{
  echo "| scenario | concurrency | texts/request | duration | requests | req/s | p50 s | p95 s | status codes |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} > "$OUT"
run() {  # name concurrency seconds body texts
  local d; d=$(python3 -c "print(max(1, round($3 * $SCALE)))")
  local r; r=$(hey -z "${d}s" -c "$2" -m POST -T application/json -d "$4" "http://127.0.0.1:$PORT/summarize")
  python3 - "$1" "$2" "$5" "$d" <<PY >> "$OUT"
import re, sys
r = """$r"""
name, c, texts, d = sys.argv[1:]
rps = re.search(r"Requests/sec:\s+([\d.]+)", r).group(1)
p50 = re.search(r"50%+ in ([\d.]+) secs", r); p95 = re.search(r"95%+ in ([\d.]+) secs", r)
codes = ", ".join(f"{a}: {b}" for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r))
total = sum(int(b) for _, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r))
print(f"| {name} | {c} | {texts} | {d} s | {total} | {rps} | {p50.group(1) if p50 else '-'} | {p95.group(1) if p95 else '-'} | {codes} |")
PY
}
run "1: single text" 8 30 "$ONE" 1
run "2: single text" 16 60 "$ONE" 1
run "3: four texts" 8 30 "$FOUR" 4
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^brevity_batch_size_(sum|count)' >> bench/out/loadtest-metrics.txt || true
cat "$OUT"
