# Sourced by the test runners (browser-test.sh, client-test.sh): `venv_from NAME VENV REQUIREMENTS MODULE`
# (re)creates a venv when missing or when its pins changed; `serve_on_loopback NAME BIN ARGS...` starts
# `BIN serve ARGS...` on a free loopback port (PORT), stops it on exit whatever happens, and waits up to
# 120 s for /ready (exit 1 with the service's log if it never comes). LOG holds the service's output.

venv_from() {
  local name=$1 venv=$2 requirements=$3 module=$4
  if ! cmp -s "$requirements" "$venv/requirements.txt" || ! "$venv/bin/python" -c "import $module" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
  fi
}

serve_on_loopback() {
  local name=$1 bin=$2
  shift 2
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local args=(serve "$@" --host 127.0.0.1 --port "$PORT" --log-level warning)
  LOG=$(mktemp)
  "$bin" "${args[@]}" >"$LOG" 2>&1 &
  SERVER=$!
  trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
  echo "$name: $bin ${args[*]}"
  for _ in $(seq 1200); do   # 120 s
    if curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name: FAIL: the service did not become ready on port $PORT; its log:" >&2
  cat "$LOG" >&2
  exit 1
}
