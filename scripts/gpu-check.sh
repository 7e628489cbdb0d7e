#!/usr/bin/env bash
# The GPU check of the CUDA backend: one run of at most 8 minutes on the GPU machine (CUDA 12/13 driver, toolkit,
# Python with torch and transformers; no Swift toolchain, no network). It needs, beside the checkout,
# `make dist`'s tarball under dist/ (a static build) and dist/tools/hey (Debian's hey binary), both
# carried there. Steps:
#   1. `brevity cuda-check`: NVRTC compiles the kernels for the GPU; the driver reports it. Then `brevity
#      cpu-check` on the host's CPU: where it has AVX-512, the first run of the `avx512` kernels on hardware
#      (a failure there is reported, not fatal to the GPU check: that tier is opt-in).
#   2. scripts/gpu/compare.py: the fixtures on the GPU (float32, float16, bfloat16) against the CPU backend
#      and transformers' ids; every `--device cuda` start also runs the op-by-op self-test against the CPU.
#   3. Random weights of bart-large-cnn's exact shape made with the machine's PyTorch (bench/bart/make_model.py);
#      3b. decode steps timed on the GPU (1 and 8 texts, beam 4, 56-142 tokens): ms a step and what a step
#      gives the stream (launches, cuBLAS calls, uploads, copies, synchronizations).
#   4. The originals' three hey scenarios against `brevity serve --device cuda` (float16), then against a
#      transformers float16 service written like the Python original (scripts/gpu/peer_service.py).
# Prints a table last; results also under $OUT (default bench/out/gpu). DURATION_SCALE (default 0.5)
# scales the scenarios' 30/60/30 s; STEPS="check compare load" chooses steps.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-bench/out/gpu}"
SCALE="${DURATION_SCALE:-0.5}"
STEPS="${STEPS:-check compare load}"
mkdir -p "$OUT"
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a "$OUT/log.txt"; }
has() { [[ " $STEPS " == *" $1 "* ]]; }

TAR=$(ls dist/brevity-*-linux-x86_64.tar.xz 2>/dev/null | head -1)
[ -n "$TAR" ] || { echo "no dist/brevity-*-linux-x86_64.tar.xz: run make dist and carry dist"; exit 2; }
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
tar -xJf "$TAR" -C "$WORK"
BIN=$(ls "$WORK"/brevity-*/bin/brevity)
HEY="${HEY:-$PWD/dist/tools/hey}"
say "$("$BIN" --version 2>/dev/null || echo brevity) from $TAR; $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)"
"$BIN" --help >/dev/null || { say "the binary does not start here (glibc?)"; ldd "$BIN" | tee -a "$OUT/log.txt"; exit 1; }
export BREVITY_KERNEL_CACHE="$WORK/kernels"
STATUS=0

if has check; then
  say "1. cuda-check"
  "$BIN" cuda-check --arch sm_80 --arch sm_90 2>&1 | tee "$OUT/cuda-check.txt" || STATUS=1
  say "1b. cpu-check (host CPU: $(grep -o -m1 -w 'avx512f' /proc/cpuinfo || echo 'no avx512f'))"
  "$BIN" cpu-check 2>&1 | tee "$OUT/cpu-check.txt" || say "cpu-check: a CPU kernel check failed (see $OUT/cpu-check.txt)"
fi

if has compare; then
  say "2. fixtures: GPU against CPU and transformers"
  python3 scripts/gpu/compare.py "$BIN" 2>&1 | tee "$OUT/compare.md" || STATUS=1
fi

if has load; then
  say "3. random bart-large-cnn weights"
  python3 bench/bart/make_model.py "$WORK/bart" > "$OUT/make-model.txt" 2>&1 || { cat "$OUT/make-model.txt"; exit 1; }
  TEXT="The city council approved a new budget on Tuesday, raising spending on schools and roads after months of debate. Officials said the plan would be paid for by savings elsewhere and a small rise in fees."
  ONE=$(python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]], "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT")
  FOUR=$(python3 -c 'import json,sys; print(json.dumps({"texts": [sys.argv[1]]*4, "max_length": 60, "min_length": 10, "do_sample": False, "temperature": 1.0, "top_p": 1.0}))' "$TEXT")
  TABLE="$OUT/load.md"
  echo "| system | scenario | clients | texts | req/s | p50 s | p95 s | status codes |" > "$TABLE"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |" >> "$TABLE"
  scenarios() {  # system port
    for s in "1:8:30:1" "2:16:60:1" "3:8:30:4"; do
      IFS=: read -r n c d texts <<< "$s"
      d=$(python3 -c "print(max(3, round($d * $SCALE)))")
      body=$ONE; [ "$texts" = 4 ] && body=$FOUR
      "$HEY" -z "${d}s" -c "$c" -t 60 -m POST -T application/json -d "$body" "http://127.0.0.1:$2/summarize" \
        > "$OUT/hey-$1-$n.txt" 2>&1
      python3 scripts/gpu/hey_row.py "$1" "$n (${d} s)" "$c" "$texts" < "$OUT/hey-$1-$n.txt" >> "$TABLE"
    done
  }
  wait_ready() {  # url seconds
    for _ in $(seq $(( $2 * 10 ))); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
    return 1
  }
  say "3b. decode steps on the GPU: 1 and 8 texts, beam 4 (summarize --bench-repeat: ms a step, launches and copies a step)"
  for n in 1 8; do
    for _ in $(seq $n); do python3 -c 'import json,sys; print(json.dumps({"text": sys.argv[1]}))' "$TEXT"; done > "$WORK/in-$n.jsonl"
    timeout 120 "$BIN" summarize --model "$WORK/bart" --device cuda --bench-repeat 3 \
      --params '{"num_beams": 4, "min_length": 56, "max_length": 142, "no_repeat_ngram_size": 3}' \
      < "$WORK/in-$n.jsonl" > /dev/null 2> "$OUT/steps-$n.txt" || say "summarize --bench-repeat failed"
    tail -n 1 "$OUT/steps-$n.txt" | tee -a "$OUT/log.txt"
  done

  say "4a. brevity serve --device cuda (float16)"
  "$BIN" serve --model "$WORK/bart" --device cuda --host 127.0.0.1 --port 8000 --log-level info > "$OUT/brevity-serve.log" 2>&1 &
  SERVER=$!
  if wait_ready http://127.0.0.1:8000/ready 180; then
    curl -s http://127.0.0.1:8000/health > "$OUT/brevity-health.json"; cat "$OUT/brevity-health.json"; echo
    scenarios brevity 8000
  else
    say "brevity did not become ready"; tail -20 "$OUT/brevity-serve.log"; STATUS=1
  fi
  kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null
  say "4b. transformers float16 peer"
  MODEL_NAME="$WORK/bart" DTYPE=fp16 PORT=8001 python3 scripts/gpu/peer_service.py > "$OUT/peer.log" 2>&1 &
  PEER=$!
  if wait_ready http://127.0.0.1:8001/health 180; then
    scenarios transformers-fp16 8001
  else
    say "the peer did not start"; tail -20 "$OUT/peer.log"
  fi
  kill $PEER 2>/dev/null; wait $PEER 2>/dev/null
  say "done"
  cat "$OUT/compare.md" 2>/dev/null
  cat "$TABLE"
fi
exit $STATUS
