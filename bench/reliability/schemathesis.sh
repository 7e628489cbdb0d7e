#!/usr/bin/env bash
# Schema-driven API testing: schemathesis against GET /openapi.json of a running
# service with every check (status codes and content types the document declares, response bodies
# against their schemas, no 5xx, methods it does not list). The tiny summarizer keeps it fast; the
# routes and the document are the same for every model. A response may take as long as the request timeout
# given to schemathesis (60 s): its own default bound (10 s) fails valid heavy requests (5 texts x 1,024
# tokens x 34 beams takes 11 s on 2 cores), which says nothing about the contract.
# Usage: [MODEL=folder] [SEED=n] [LIMIT=seconds, default 900] bench/reliability/schemathesis.sh [MAX_EXAMPLES]   (schemathesis in ~/.cache/brevity/venv-st-api,
# installed when missing). Output: bench/out/schemathesis.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-$HOME/.cache/brevity/venv-st-api}"
VERSION=4.32.5
PORT="${PORT:-8767}"
BIN="${BIN:-.build/release/brevity}"
MAX="${1:-200}"
SEED="${SEED:-1}"
[ -x "$VENV/bin/schemathesis" ] && "$VENV/bin/schemathesis" --version | grep -q "$VERSION" || {
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis==$VERSION"; }
mkdir -p bench/out
"$BIN" serve --model "${MODEL:-Tests/Fixtures/summarizer-tiny}" --host 127.0.0.1 --port "$PORT" --log-level error \
  --shed-delay 0 > bench/out/schemathesis-server.log 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
set +e
timeout "${LIMIT:-900}" "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" --checks all \
  --max-examples "$MAX" --request-timeout 60 --max-response-time 60 --seed "$SEED" 2>&1 | tee bench/out/schemathesis.txt
rc=${PIPESTATUS[0]}
echo "schemathesis exit status: $rc" | tee -a bench/out/schemathesis.txt
exit "$rc"
