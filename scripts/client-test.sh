#!/usr/bin/env bash
# Tests with third-party clients: starts BIN serve on a free loopback port with the tiny summarizer, waits
# for /ready, runs Tests/Clients/ (huggingface_hub's InferenceClient on the Hugging Face shape, the originals'
# curl requests, a client generated from GET /openapi.json by openapi-python-client), and always stops the
# server. The clients come from a venv, CLIENTS_VENV (default models/.clients-venv), created from
# Tests/Clients/requirements.txt when missing or when the pins changed.
# Usage: scripts/client-test.sh BIN   (MODEL=folder for another summarizer)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:?usage: scripts/client-test.sh BIN}"
VENV="${CLIENTS_VENV:-models/.clients-venv}"
MODEL="${MODEL:-Tests/Fixtures/summarizer-tiny}"
[ -x "$BIN" ] || { echo "client-test: $BIN is not an executable (build it first)" >&2; exit 2; }
command -v curl >/dev/null || { echo "client-test: curl is missing" >&2; exit 2; }
if ! cmp -s Tests/Clients/requirements.txt "$VENV/requirements.txt" || ! "$VENV/bin/python" -c "import huggingface_hub, openapi_python_client" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r Tests/Clients/requirements.txt
  cp Tests/Clients/requirements.txt "$VENV/requirements.txt"
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
args=(serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --log-level warning)
LOG=$(mktemp)
"$BIN" "${args[@]}" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
echo "client-test: $BIN ${args[*]}"
ready=
for _ in $(seq 1200); do   # 120 s
  if curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "client-test: FAIL: the service did not become ready on port $PORT; its log:" >&2
  cat "$LOG" >&2
  exit 1
fi
failed=()
for test in hf_inference_client curl openapi_client; do
  "$VENV/bin/python" "Tests/Clients/${test}_test.py" "http://127.0.0.1:$PORT" || failed+=("$test")
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "client-test: FAIL: ${failed[*]}; the service's log:" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi
echo "client-test: all client tests passed"
