#!/usr/bin/env bash
# Tests with third-party clients: starts BIN serve on a free loopback port with the tiny summarizer, waits
# for /ready, runs Tests/Clients/ (huggingface_hub's InferenceClient on the Hugging Face shape, the originals'
# curl requests, a client generated from GET /openapi.json by openapi-python-client, and Brevity's own
# Python client from its wheel) and OpenTelemetry export to a loopback OTLP receiver, and always stops the
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
. scripts/serve-loopback.sh
venv_from client-test "$VENV" Tests/Clients/requirements.txt "huggingface_hub, openapi_python_client, opentelemetry.proto"
# Brevity's own client (clients/python), from the wheel users install: built and installed here, its
# metadata checked with pip check
WHEELS=$(mktemp -d)
"$VENV/bin/pip" wheel --quiet --no-deps clients/python -w "$WHEELS"
"$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$WHEELS"/brevity_client-*-py3-none-any.whl
rm -rf "$WHEELS" clients/python/build clients/python/brevity_client.egg-info
"$VENV/bin/pip" check
serve_on_loopback client-test "$BIN" --model "$MODEL"
failed=()
for test in hf_inference_client curl openapi_client brevity_client; do
  "$VENV/bin/python" "Tests/Clients/${test}_test.py" "http://127.0.0.1:$PORT" || failed+=("$test")
done
# OpenTelemetry: its own servers (with and without an OTLP endpoint) and a loopback receiver
"$VENV/bin/python" Tests/Clients/otlp_trace_test.py "$BIN" "$MODEL" || failed+=(otlp_trace)
if [ "${#failed[@]}" -ne 0 ]; then
  echo "client-test: FAIL: ${failed[*]}; the service's log:" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi
echo "client-test: all client tests passed"
