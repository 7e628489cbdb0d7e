#!/usr/bin/env bash
# bench/scaleout/autoscale.py under changing load: one replica (MAX_CONCURRENT_BATCH=4 so texts queue),
# hey at 4 clients for 10 s, 48 clients for 45 s (longer than the HPA's 30 s scale-up window), then 4 for
# 25 s, while /metrics is sampled.
# Results: bench/out/autoscale.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-Tests/Fixtures/summarizer-tiny}"; PORT="${PORT:-8795}"; BIN="${BIN:-.build/release/brevity}"
MAX_CONCURRENT_BATCH=4 "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --log-level warning > bench/out/autoscale-server.log 2>&1 &
S=$!
trap 'kill $S 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
BODY='{"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."], "max_length": 60, "min_length": 10}'
python3 bench/scaleout/autoscale.py "http://127.0.0.1:$PORT" 80 > bench/out/autoscale.md &
P=$!
hey -z 10s -c 4 -m POST -T application/json -d "$BODY" "http://127.0.0.1:$PORT/summarize" > /dev/null
hey -z 45s -c 48 -m POST -T application/json -d "$BODY" "http://127.0.0.1:$PORT/summarize" > bench/out/autoscale-hey48.txt
hey -z 24s -c 4 -m POST -T application/json -d "$BODY" "http://127.0.0.1:$PORT/summarize" > /dev/null
wait $P
cat bench/out/autoscale.md
grep -E "Requests/sec|\[[0-9]+\]" bench/out/autoscale-hey48.txt
