#!/usr/bin/env bash
# Cold start (docs/deploy.md): process start to /ready and to the first summary for bart-large-cnn's shape,
# Brevity against transformers' from_pretrained plus one generate, with the model's files evicted from the
# page cache (cold) and just read (warm), alternating, medians of REPEAT (3).
# Usage: bench/coldstart/run.sh   (MODEL=bench/data/bart-large-cnn-random, made by bench/bart/make_model.py;
# BIN=.build/release/brevity; VENV=~/.cache/brevity/venv-bart with transformers; THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-bench/data/bart-large-cnn-random}
BIN=${BIN:-.build/release/brevity}
VENV=${VENV:-$HOME/.cache/brevity/venv-bart}
NEWS=${NEWS:-../shared/data/news/cnndm-dev.jsonl}
[ -f "$MODEL/config.json" ] || { echo "no model at $MODEL (bench/bart/make_model.py makes it)" >&2; exit 2; }
command -v fincore >/dev/null || { echo "fincore (util-linux) is needed to check the page cache" >&2; exit 2; }
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, commit $(git rev-parse --short HEAD)"
exec "$VENV/bin/python" bench/coldstart/coldstart.py "$MODEL" "$BIN" "$NEWS" "$VENV/bin/python"
