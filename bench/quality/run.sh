#!/usr/bin/env bash
# Extractive summary quality on real news: ROUGE-1/2/Lsum F1 (rouge-score, stemming) of
# Brevity's extractive strategies against the human highlights, beside lead-3, through `brevity serve`
# with all-MiniLM-L6-v2 on loopback. Usage: bench/quality/run.sh [DEV_JSONL]
# (default ../shared/data/news/cnndm-dev.jsonl). Needs `make models`; makes its venv outside the repo
# (~/.cache/brevity/venv-quality, rouge-score only). Results: bench/out/quality.md and quality.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEV="${1:-../shared/data/news/cnndm-dev.jsonl}"
PORT="${PORT:-8766}"
VENV="${VENV:-$HOME/.cache/brevity/venv-quality}"
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r bench/quality/requirements.txt; }
BIN="${BIN:-.build/release/brevity}"
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null
mkdir -p bench/out
"$BIN" serve --model models/all-MiniLM-L6-v2 --host 127.0.0.1 --port "$PORT" --log-level warning --max-body-size 4194304 \
  > bench/out/quality-server.log 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
"$VENV/bin/python" bench/quality/rouge.py "http://127.0.0.1:$PORT" "$DEV" | tee bench/out/quality.md
