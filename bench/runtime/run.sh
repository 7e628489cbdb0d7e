#!/usr/bin/env bash
# Two builds of `brevity` against each other on the paths a redesign of the runtime touches, alternated
# (A B A B ...) in one run on the same weights:
#   cli:     `brevity summarize` over the 8 articles of bench/bart (700 tokens at most, beam 4, 60 tokens
#            forced, no-repeat 3): the whole process, loading included (seconds, wall clock);
#   service: `brevity serve --latency-target none` under the originals' scenario 1 (hey -c 8, one text,
#            max_length 60, min_length 10) for SECONDS seconds: answered requests per second, p50 and p95.
# Usage: A=path/to/brevity B=path/to/brevity bench/runtime/run.sh   [ROUNDS=2] [SECONDS=60] [MODEL=...]
# Needs bench/data/bart-in-8x_article.jsonl and the model (bench/bart/run.sh makes both). Prints a table.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${A:?A=path to the first build}
B=${B:?B=path to the second build}
MODEL=${MODEL:-bench/data/bart-large-cnn-random}
ARTICLES=${ARTICLES:-bench/data/bart-in-8x_article.jsonl}
ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS:-60}
PORT=${PORT:-8767}
export OPENBLAS_NUM_THREADS=${THREADS:-2} OMP_NUM_THREADS=${THREADS:-2}
[ -f "$MODEL/config.json" ] && [ -f "$ARTICLES" ] || { echo "bench/bart/run.sh makes $MODEL and $ARTICLES" >&2; exit 2; }
command -v hey >/dev/null || { echo "hey missing: apt-get install hey" >&2; exit 2; }
TEXT="The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."
BODY=$(python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT")
PARAMS='{"min_length": 61, "max_length": 61, "no_repeat_ngram_size": 3, "num_beams": 4}'

cli() {  # binary -> seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$1" summarize --model "$MODEL" --max-batch-size 8 --params "$PARAMS" < "$ARTICLES" > /tmp/brevity-runtime-bench.jsonl
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.2f}')"
}

service() {  # binary -> "req/s p50 p95"
  "$1" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --latency-target none --log-level warning > /tmp/brevity-runtime-bench.log 2>&1 &
  local pid=$!
  for _ in $(seq 900); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done
  curl -sf -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$PORT/summarize" >/dev/null   # warm
  local r
  r=$(hey -z "${SECONDS_EACH}s" -c 8 -t 600 -m POST -T application/json -d "$BODY" "http://127.0.0.1:$PORT/summarize")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 - <<PY
import re
r = """$r"""
ok = sum(int(b) for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", r) if a == "200")
p50 = re.search(r"50%+ in ([\d.]+) secs", r); p95 = re.search(r"95%+ in ([\d.]+) secs", r)
print(f"{ok / $SECONDS_EACH:.3f} {p50.group(1) if p50 else '-'} {p95.group(1) if p95 else '-'}")
PY
}

echo "| round | build | cli 8 articles (s) | service req/s (200s / ${SECONDS_EACH} s) | p50 (s) | p95 (s) |"
echo "| --- | --- | --- | --- | --- | --- |"
"$A" summarize --model "$MODEL" --params "$PARAMS" < <(head -1 "$ARTICLES") > /dev/null   # page cache warm
for round in $(seq "$ROUNDS"); do
  for label in A B; do
    bin=$A; [ $label = B ] && bin=$B
    c=$(cli "$bin")
    read -r rps p50 p95 < <(service "$bin")
    echo "| $round | $label | $c | $rps | $p50 | $p95 |"
  done
done
