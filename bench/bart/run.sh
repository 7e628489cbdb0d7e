#!/usr/bin/env bash
# BART benchmark (docs/architecture.md §4 workload) on random weights with bart-large-cnn's shape: Brevity
# (float32, bfloat16, int8), transformers (float32, bfloat16) and CTranslate2 (float32, int8) side by side,
# case by case, in one run. Each line: median seconds of generation (loading excluded) and the peak resident
# memory of the whole process (loading included). Usage: bench/bart/run.sh   (REPEAT=3 THREADS=2 by default;
# 8 x beam 4 runs once after its warm-up). Needs the fixture venv (scripts/fixtures/bart/requirements.txt,
# plus ctranslate2): VENV=~/.cache/brevity/venv-bart.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-$HOME/.cache/brevity/venv-bart}
PY=$VENV/bin/python
MODEL=${MODEL:-bench/data/bart-large-cnn-random}
REPEAT=${REPEAT:-3}
export THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
CASES=${CASES:-beam1 beam4 8x_beam4}
BREVITY_DTYPES=${BREVITY_DTYPES:-float32 bfloat16 int8}

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

# peak resident memory of a command, appended to its JSON line
peak() { /usr/bin/time -f "%M" -o bench/data/peak.txt "$@"; }
mem() { echo "$(( $(tail -n 1 bench/data/peak.txt) / 1024 ))"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -o -m1 -w 'avx512f\|avx2' /proc/cpuinfo | head -1); threads=$THREADS repeat=$REPEAT; $(date -u +%F)"
PARAMS='{"min_length": 60, "max_length": 60, "no_repeat_ngram_size": 3'
for case in $CASES; do
  case $case in beam1) beams=1 n=1;; beam4) beams=4 n=1;; 8x_beam4) beams=4 n=8;; esac
  r=$REPEAT; [ "$case" = 8x_beam4 ] && r=1
  head -n "$n" "$INPUTS" > bench/data/bart-in-$case.jsonl
  for dtype in $BREVITY_DTYPES; do
    peak "$BIN" summarize --model "$MODEL" --params "$PARAMS, \"num_beams\": $beams}" --max-batch-size 8 --dtype "$dtype" \
      --bench-repeat "$r" < bench/data/bart-in-$case.jsonl 2> bench/data/bart-brevity.json > bench/data/bart-out.jsonl
    echo "{\"system\": \"brevity/$dtype\", \"case\": \"$case\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"peak_mib\": $(mem), \"timing\": $(tail -n 1 bench/data/bart-brevity.json)}"
  done
  for dtype in float32 bfloat16; do
    DTYPE=$dtype REPEAT=$r peak "$PY" bench/bart/bench_hf.py "$MODEL" "$INPUTS" "$case" 2>/dev/null > bench/data/line.json
    sed "s/}\$/, \"peak_mib\": $(mem)}/" bench/data/line.json
  done
  for compute in float32 int8; do
    REPEAT=$r peak "$PY" bench/bart/bench_ct2.py "$MODEL" "$INPUTS" "$case" "$compute" 2>/dev/null > bench/data/line.json
    sed "s/}\$/, \"peak_mib\": $(mem)}/" bench/data/line.json
  done
done
