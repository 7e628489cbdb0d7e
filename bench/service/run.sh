#!/usr/bin/env bash
# Service level, one run, same weights: `brevity serve` and the Python peer (bench/peers/fastapi_service.py,
# FastAPI + transformers written like the Python original) under the originals' three `hey` scenarios
# (1: 8 clients x 1 text, 2: 16 clients x 1 text, 3: 8 clients x 4 texts; payload max_length 60,
# min_length 10, do_sample false), plus 4: 8 clients x 1 real article (the first of NEWS,
# ../shared/data/news/cnndm-dev.jsonl: 692 words, the service's real workload), one service at a time on
# loopback, with each one's peak resident memory. Brevity runs once per DTYPE in BREVITY_DTYPES (default
# "float32"; e.g. "float32 int8 bfloat16").
# Both read MODEL (default bench/data/bart-large-cnn-random: bart-large-cnn's exact shape, random weights,
# made by bench/bart/run.sh) and NUM_BEAMS (default 4, the model's). The peer runs once per value of
# PEER_BATCH (MAX_CONCURRENT_BATCH: requests generating at once; default "1 8"). Brevity runs with
# --latency-target LATENCY_TARGET (default none, below).
# Usage: bench/service/run.sh   [BIN=.build/release/brevity] [PY=venv python with bench/peers/requirements.txt]
#        [SECONDS1=120 SECONDS2=90 SECONDS3=90 SECONDS4=120] [SCENARIOS="1 2 3 4"] [BREVITY_DTYPES=float32]
# Results: bench/out/service.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${MODEL:-bench/data/bart-large-cnn-random}"
BIN="${BIN:-.build/release/brevity}"
PY="${PY:-python3}"
PORT="${PORT:-8766}"
NUM_BEAMS="${NUM_BEAMS:-4}"
SCENARIOS="${SCENARIOS:-1 2 3 4}"
BREVITY_DTYPES="${BREVITY_DTYPES:-float32}"
NEWS="${NEWS:-../shared/data/news/cnndm-dev.jsonl}"
PEER_BATCH="${PEER_BATCH:-1 8}"
# Brevity's admission control refuses (503, Retry-After) what it predicts would wait past its latency target;
# the peer queues everything, so by default Brevity runs with none to compare the same work (LATENCY_TARGET=auto
# shows the shedding instead).
LATENCY_TARGET="${LATENCY_TARGET:-none}"
[ -f "$MODEL/config.json" ] || { echo "no $MODEL: bench/bart/run.sh makes it" >&2; exit 2; }
command -v hey >/dev/null || { echo "hey missing: apt-get install hey" >&2; exit 2; }
"$PY" -c "import fastapi, uvicorn, transformers, torch" || { echo "$PY lacks bench/peers/requirements.txt" >&2; exit 2; }
mkdir -p bench/out
OUT=bench/out/service.md
TEXT="The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."
body() { python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]] * int(sys.argv[2]), "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT" "$1"; }
ONE=$(body 1); FOUR=$(body 4)
ARTICLE=$(python3 -c 'import json,sys; a=json.loads(open(sys.argv[1]).readline())["article"]; print(json.dumps({"texts": [a], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$NEWS")

wait_ready() {  # pid path
  for _ in $(seq 1800); do
    curl -sf "http://127.0.0.1:$PORT$2" >/dev/null && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

scenario() {  # system n
  local c=8 texts=1 d="${SECONDS1:-120}" b="$ONE"
  case "$2" in
    2) c=16; d="${SECONDS2:-90}" ;;
    3) texts=4; b="$FOUR"; d="${SECONDS3:-90}" ;;
    4) b="$ARTICLE"; d="${SECONDS4:-120}" ;;
  esac
  local r; r=$(hey -z "${d}s" -c "$c" -t 600 -m POST -T application/json -d "$b" "http://127.0.0.1:$PORT/summarize")
  python3 - "$1" "$2" "$c" "$texts" "$d" <<PY >> "$OUT"
import re, sys
r = """$r"""
system, n, c, texts, d = sys.argv[1:]
rps = re.search(r"Requests/sec:\s+([\d.]+)", r).group(1)
p50 = re.search(r"50%+ in ([\d.]+) secs", r); p95 = re.search(r"95%+ in ([\d.]+) secs", r)
ok = sum(int(b) for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r) if a == "200")
codes = {a: int(b) for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r) if a != "200"}
other = sum(codes.values())
tail = r.split("Error distribution:", 1)[1] if "Error distribution:" in r else ""
errors = sum(int(x) for x in re.findall(r"^\s+\[(\d+)\]", tail, re.M))
detail = ", ".join([f"{k}: {v}" for k, v in sorted(codes.items())] + ([f"no response: {errors}"] if errors else []))
print(f"| {system} | {n}{' (article)' if n == '4' else ''} | {c} x {texts} | {d} s | {ok} | {other + errors}{' (' + detail + ')' if detail else ''} | {rps} | {p50.group(1) if p50 else '-'} | {p95.group(1) if p95 else '-'} |", flush=True)
PY
  tail -1 "$OUT"
}

serve_and_run() {  # label ready-path command...
  local label="$1" ready="$2"; shift 2
  "$@" > "bench/out/service-$label.log" 2>&1 &
  local pid=$!
  trap "kill -TERM $pid 2>/dev/null || true" EXIT
  wait_ready "$pid" "$ready" || { echo "$label did not start"; tail "bench/out/service-$label.log"; exit 1; }
  # the same request once: both must give the same summary (same weights, same transformers semantics)
  curl -sf -H 'Content-Type: application/json' -d "$ONE" "http://127.0.0.1:$PORT/summarize" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["summaries"][0]["text"])' > "bench/out/service-$label.summary"
  for n in $SCENARIOS; do scenario "$label" "$n"; done
  local hwm; hwm=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
  echo "| $label peak RSS | $hwm MiB |" >> bench/out/service-rss.md
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

{
  echo "| system | scenario | clients x texts | duration | 200s | errors | req/s | p50 s | p95 s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} > "$OUT"
: > bench/out/service-rss.md
for dt in $BREVITY_DTYPES; do
  serve_and_run "brevity-$dt" /ready env NUM_BEAMS="$NUM_BEAMS" DTYPE="$dt" "$BIN" serve --model "$MODEL" --host 127.0.0.1 \
    --port "$PORT" --latency-target "$LATENCY_TARGET" --log-level warning
done
for b in $PEER_BATCH; do
  serve_and_run "python-batch$b" /health env MODEL_NAME="$MODEL" NUM_BEAMS="$NUM_BEAMS" MAX_CONCURRENT_BATCH="$b" PORT="$PORT" \
    "$PY" bench/peers/fastapi_service.py
done
cat bench/out/service-rss.md >> "$OUT"
for f in bench/out/service-*.summary; do echo "$(basename "$f" .summary): $(cat "$f")"; done >> "$OUT"
cat "$OUT"
