#!/usr/bin/env bash
# BART benchmark (docs/architecture.md §4 workload) on random weights with bart-large-cnn's shape, Brevity and
# transformers side by side in one run, case by case. Usage: bench/bart/run.sh   (REPEAT=3 THREADS=2 by default)
# Needs the fixture venv (scripts/fixtures/bart/requirements.txt): VENV=~/.cache/brevity/venv-bart.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-$HOME/.cache/brevity/venv-bart}
PY=$VENV/bin/python
MODEL=${MODEL:-bench/data/bart-large-cnn-random}
export REPEAT=${REPEAT:-3} THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

[ -f "$MODEL/model.safetensors" ] || "$PY" bench/bart/make_model.py "$MODEL"
# BIN=path runs an already-built binary
BIN=${BIN:-.build/release/brevity}
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null

# 8 inputs of 60 tokens: <s> + 58 random ids + </s>
INPUTS=bench/data/bart-inputs.jsonl
"$PY" - "$INPUTS" <<'PYEOF'
import json, random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for _ in range(8):
        f.write(json.dumps({"input_ids": [0] + [random.randrange(4, 50000) for _ in range(58)] + [2]}) + "\n")
PYEOF

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads=$THREADS repeat=$REPEAT"
PARAMS='{"min_length": 60, "max_length": 60, "no_repeat_ngram_size": 3'
for case in "beam1 1 1" "beam4 4 1" "8x_beam4 4 8"; do
  set -- $case
  head -n "$3" "$INPUTS" > bench/data/bart-in-$1.jsonl
  "$BIN" summarize --model "$MODEL" --params "$PARAMS, \"num_beams\": $2}" --max-batch-size 8 \
    --bench-repeat "$REPEAT" < bench/data/bart-in-$1.jsonl 2> bench/data/bart-brevity-$1.json > bench/data/bart-out-$1.jsonl
  echo "{\"system\": \"brevity/float32\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"case\": \"$1\", \"timing\": $(cat bench/data/bart-brevity-$1.json), \"first_ids\": $(head -n 1 bench/data/bart-out-$1.jsonl | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["token_ids"][:8])')}"
  # transformers right after, on the same case (a shared machine's load drifts)
  "$PY" bench/bart/bench_hf.py "$MODEL" "$INPUTS" "$1" 2>/dev/null
done
