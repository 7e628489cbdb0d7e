#!/usr/bin/env bash
# Sentence-embedding throughput: Brevity (`brevity embed --bench-repeat`) against sentence-transformers
# on the same all-MiniLM-L6-v2 weights, the same sentences and the same 2 CPU threads, one after the other.
#   bench/embed/run.sh       # results: bench/out/embed.jsonl and a Markdown table
# VENV names the Python environment of scripts/fixtures/minilm/requirements.txt; MODELS the models folder
# (`make models`); THREADS (default 2), RUNS (default 3), BATCH (default 64) as named.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-$HOME/.cache/brevity/venv-minilm}"
MODEL="${MODELS:-models}/all-MiniLM-L6-v2"
THREADS="${THREADS:-2}" RUNS="${RUNS:-3}" BATCH="${BATCH:-64}"
SCRATCH="${SCRATCH:-.build}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r scripts/fixtures/minilm/requirements.txt
fi
[ -f "$MODEL/model.safetensors" ] || make models
python3 bench/embed/make_sentences.py
# BIN=path runs an already-built binary
BREVITY="${BIN:-$SCRATCH/release/brevity}"
[ -n "${BIN:-}" ] || swift build -c release --scratch-path "$SCRATCH" >/dev/null
mkdir -p bench/out
OUT=bench/out/embed.jsonl
: > "$OUT"
for name in news fixture; do
  in="bench/data/embed-$name.jsonl"
  b=$(OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$BREVITY" embed --model "$MODEL" --batch-size "$BATCH" \
        --bench-repeat "$RUNS" < "$in" 2>&1 >/dev/null | tail -1)
  h=$(OMP_NUM_THREADS=$THREADS "$VENV/bin/python" bench/embed/st_bench.py "$MODEL" "$in" --runs "$RUNS" \
        --threads "$THREADS" --batch-size "$BATCH" 2>/dev/null | tail -1)
  echo "{\"name\": \"$name\", \"brevity\": $b, \"st\": $h}" >> "$OUT"
done
"$VENV/bin/python" - "$OUT" <<'PY'
import json, sys
print("| sentences | count | tokens | Brevity sentences/s | sentence-transformers sentences/s | ratio |")
print("| --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    r = json.loads(line); b, h = r["brevity"], r["st"]
    print(f"| {r['name']} | {b['sentences']} | {b['tokens']} / {h['tokens']} | {b['sentences_per_s']:.1f} | "
          f"{h['sentences_per_s']:.1f} | {b['sentences_per_s'] / h['sentences_per_s']:.2f}x |")
PY
