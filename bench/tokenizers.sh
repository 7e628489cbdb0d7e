#!/usr/bin/env bash
# Tokenizer encoding throughput: Brevity against Hugging Face `tokenizers` (Rust, single-threaded),
# on the same ~12 MB mixed-language corpus and the same tokenizer.json, one process at a time.
#   bench/tokenizers.sh            # results: bench/out/tokenizers.jsonl and a Markdown table
# VENV names the Python environment with the pinned `tokenizers` (scripts/fixtures/tokenizers/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-$HOME/.cache/brevity/venv-tokenizers}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r scripts/fixtures/tokenizers/requirements.txt
fi
[ -f bench/data/corpus.txt ] || "$VENV/bin/python" bench/tokenizers/make_bench_corpus.py
# BIN=path runs an already-built binary
BIN="${BIN:-.build/release/brevity}"
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null
mkdir -p bench/out
OUT=bench/out/tokenizers.jsonl
: > "$OUT"
RUNS="${RUNS:-3}"
for name in gpt2 bart minilm t5 pegasus; do
  tok="Tests/Fixtures/tokenizers/$name/tokenizer.json"
  b=$("$BIN" bench tokenizer --tokenizer "$tok" --input bench/data/corpus.txt --runs "$RUNS")
  h=$(TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 "$VENV/bin/python" bench/tokenizers/hf_bench.py "$tok" --runs "$RUNS" 2>/dev/null)
  echo "{\"name\": \"$name\", \"brevity\": $b, \"hf\": $h}" >> "$OUT"
done
"$VENV/bin/python" - "$OUT" <<'PY'
import json, sys
print("| tokenizer | bytes | tokens (Brevity / HF) | Brevity MB/s | HF tokenizers MB/s | ratio |")
print("| --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    r = json.loads(line); b, h = r["brevity"], r["hf"]
    print(f"| {r['name']} | {b['bytes']} | {b['tokens']} / {h['tokens']} | {b['mb_per_s']:.2f} | {h['mb_per_s']:.2f} | {b['mb_per_s']/h['mb_per_s']:.2f}x |")
PY
