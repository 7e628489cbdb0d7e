#!/usr/bin/env bash
# What OpenTelemetry tracing costs a request: two `brevity serve` on loopback, one with tracing off (no
# OTEL_* set) and one exporting every request (OTEL_EXPORTER_OTLP_ENDPOINT to a loopback receiver that
# answers 200, always_on), both up at once; ROUNDS alternated `hey` runs of REQUESTS requests from CLIENTS
# clients against each, off first in odd rounds and on first in even ones. The model is small so that the
# request's fixed costs, tracing's included, are a large share of its time.
# Usage: bench/service/tracing.sh   [BIN=.build/release/brevity] [MODEL=Tests/Fixtures/summarizer-tiny]
#        [ROUNDS=6] [REQUESTS=400] [CLIENTS=4]
# Prints one JSON line per run, then one object with each arm's median over rounds of the runs' mean and
# p99 latencies (ms) and requests per second, and the spans the receiver got.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${BIN:-.build/release/brevity}"
MODEL="${MODEL:-Tests/Fixtures/summarizer-tiny}"
ROUNDS="${ROUNDS:-6}" REQUESTS="${REQUESTS:-400}" CLIENTS="${CLIENTS:-4}"
command -v hey >/dev/null || { echo "hey missing: apt-get install hey" >&2; exit 2; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# the receiver: counts the spans it is sent
RECV=$(port)
python3 - "$RECV" "$work/spans" <<'EOF' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        count += sum(len(s["spans"]) for r in doc["resourceSpans"] for s in r["scopeSpans"])
        open(sys.argv[2], "w").write(str(count))
        self.send_response(200); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
pids+=($!)
OFF=$(port) ON=$(port)
env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
  "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$OFF" --log-level warning --latency-target none > "$work/off.log" 2>&1 &
pids+=($!)
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECV" OTEL_TRACES_SAMPLER=always_on \
  "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$ON" --log-level warning --latency-target none > "$work/on.log" 2>&1 &
pids+=($!)
for p in "$OFF" "$ON"; do
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$p/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$p/ready" >/dev/null || { echo "the service on $p did not become ready" >&2; cat "$work"/*.log >&2; exit 1; }
done
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; $MODEL" >&2
body='{"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. The mayor said the plan would add two hundred teachers."], "max_length": 24}'
run() {   # arm port round
  hey -n "$REQUESTS" -c "$CLIENTS" -m POST -T application/json -d "$body" -o csv "http://127.0.0.1:$2/summarize" > "$work/$1-$3.csv"
  python3 - "$work/$1-$3.csv" "$1" "$3" <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = [float(r["response-time"]) * 1000 for r in rows if r["status-code"] == "200"]
ok.sort()
span = max(float(r["offset"]) + float(r["response-time"]) for r in rows)
print(json.dumps({"arm": sys.argv[2], "round": int(sys.argv[3]), "ok": len(ok), "of": len(rows),
                  "mean_ms": sum(ok) / len(ok), "p99_ms": ok[int(0.99 * (len(ok) - 1))], "rps": len(rows) / span}))
EOF
}
for r in $(seq "$ROUNDS"); do
  run off "$OFF" 0 >/dev/null; run on "$ON" 0 >/dev/null   # warm-up
  if [ $((r % 2)) -eq 1 ]; then run off "$OFF" "$r"; run on "$ON" "$r"; else run on "$ON" "$r"; run off "$OFF" "$r"; fi
done | tee "$work/runs.jsonl"
sleep 1.5   # the exporter sends every 0.5 s
python3 - "$work/runs.jsonl" "$work/spans" <<'EOF'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out = {}
for arm in ("off", "on"):
    rs = [r for r in runs if r["arm"] == arm]
    out[arm] = {k: round(statistics.median(r[k] for r in rs), 3) for k in ("mean_ms", "p99_ms", "rps")}
    out[arm]["failed"] = sum(r["of"] - r["ok"] for r in rs)
out["on_vs_off_mean"] = round(out["on"]["mean_ms"] / out["off"]["mean_ms"], 3)
out["spans_received"] = int(open(sys.argv[2]).read()) if os.path.exists(sys.argv[2]) else 0
print(json.dumps(out))
EOF
