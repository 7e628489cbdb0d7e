#!/usr/bin/env bash
# Browser test of the playground (GET /) and /docs: starts BIN serve on a free loopback port with the tiny
# summarizer (and all-MiniLM-L6-v2 for extractive summaries when models/ has it), waits for /ready, runs
# Tests/Browser/playground_test.py in headless chromium (Debian's chromium and chromium-driver), and always
# stops the server. Selenium comes from a venv, BROWSER_VENV (default models/.browser-venv), created from
# Tests/Browser/requirements.txt when missing or when the pin changed.
# Usage: scripts/browser-test.sh BIN [--screenshot docs/playground.png]   (MODEL=folder for another summarizer)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:?usage: scripts/browser-test.sh BIN [--screenshot FILE]}"
shift
VENV="${BROWSER_VENV:-models/.browser-venv}"
MODEL="${MODEL:-Tests/Fixtures/summarizer-tiny}"
MINILM=models/all-MiniLM-L6-v2
[ -x "$BIN" ] || { echo "browser-test: $BIN is not an executable (build it first)" >&2; exit 2; }
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "browser-test: $tool is missing (make browser-deps installs chromium and chromium-driver)" >&2; exit 2; }
done
. scripts/serve-loopback.sh
venv_from browser-test "$VENV" Tests/Browser/requirements.txt selenium
args=(--model "$MODEL")
if [ -f "$MINILM/model.safetensors" ]; then args+=(--extractive-model "$MINILM"); fi
serve_on_loopback browser-test "$BIN" "${args[@]}"
status=0
"$VENV/bin/python" Tests/Browser/playground_test.py "http://127.0.0.1:$PORT/" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser-test: FAIL (exit status $status); the service's log:" >&2
  tail -n 40 "$LOG" >&2
fi
exit "$status"
