#!/usr/bin/env bash
# Drafting from the source, measured on real copy structure without trained weights (docs/architecture.md,
# "Drafting from the source"). Each article's recorded summary (a trained summarizer's own output, e.g.
# facebook/bart-large-cnn's in ../shared/data/news/cnndm-dev-bart.jsonl) is forced token by token through
# the greedy decoder of a model of the real shape (random weights: every token is forced), with drafts
# proposed from the article's real input ids; each encoding is decoded with and without drafts, alternating
# which goes first (`brevity bench replay`). The encoder is timed apart; decode times are per summary.
#
# Usage: bench/decoding/replay.sh ARTICLES.jsonl SUMMARIES.jsonl [MODEL]
#   ARTICLES: JSON lines with "id" and "article"; SUMMARIES: "id" and "bart" (matched by id)
#   MODEL: a model folder (default bench/data/bart-large-cnn-random, made by bench/bart/make_model.py)
#   K=6 (drafted tokens a pass checks)  BATCHES="1 8" (articles decoding together; 1 gives ms_per_summary)
#   LIMIT=0 (articles at most; 0: all)  DTYPE=float32  THREADS=2  BIN=path (an already-built binary)
#   VENV=~/.cache/brevity/venv-bart (only to make the default model when it is missing)
# Prints one JSON line per batch size, then (last) one object with passes_per_token (decoder passes over
# generated tokens, drafted, 1 article at a time), ms_per_summary and ms_per_summary_plain (decode time with
# and without drafts, 1 article at a time), articles, and the other batch sizes' figures as "batchN".
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: bench/decoding/replay.sh ARTICLES.jsonl SUMMARIES.jsonl [MODEL]" >&2
  exit 2
fi
ARTICLES=$(realpath "$1") SUMMARIES=$(realpath "$2")
MODEL=${3:-}
cd "$(dirname "$0")/../.."
if [ -z "$MODEL" ]; then
  MODEL=bench/data/bart-large-cnn-random
  [ -f "$MODEL/model.safetensors" ] || "${VENV:-$HOME/.cache/brevity/venv-bart}/bin/python" bench/bart/make_model.py "$MODEL" bart-large-cnn
fi
export THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
BIN=${BIN:-.build/release/brevity}
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null
BATCHES=${BATCHES:-1 8}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $THREADS threads" >&2
exec "$BIN" bench replay --model "$MODEL" --articles "$ARTICLES" --summaries "$SUMMARIES" --draft-tokens "${K:-6}" \
  --batches "$(echo $BATCHES | tr ' ' ',')" --limit "${LIMIT:-0}" --dtype "${DTYPE:-float32}"
