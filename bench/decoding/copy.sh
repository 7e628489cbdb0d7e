#!/usr/bin/env bash
# Drafting from the source on a model that really copies (docs/architecture.md, "Drafting from the source"):
# Tests/Fixtures/copy/bart-copy-tiny, a tiny BART trained on real news to write a text's opening sentences
# (scripts/fixtures/copy/make_copy_model.py), on the 30 held-out texts of its generate.json, which training
# never saw. Each text is summarized alone (`brevity summarize --max-batch-size 1 --bench-repeat`), greedy and
# with 4 beams, without drafts and with K drafted tokens; the ids are checked against transformers' generate.
#
# Usage: bench/decoding/copy.sh
#   K=6  REPEAT=3 (timed runs after a warm-up)  THREADS=2  BIN=path (an already-built binary)
#   DRAFT_ROWS (rows a drafted pass may hold, --draft-rows; unset: the backend's nearly free rows, 4-7 on
#   a CPU, which leave a 4-beam search 0-3 drafted tokens a pass; 64 is a GPU's budget)
# Prints one JSON line per setting (greedy, beam4) with passes_per_step (decoder passes over search steps,
# drafted), ms_per_summary and ms_per_summary_plain, tokens and steps, and ids_equal.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=Tests/Fixtures/copy/bart-copy-tiny
export THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
BIN=${BIN:-.build/release/brevity}
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null
rows=()
[ -n "${DRAFT_ROWS:-}" ] && rows=(--draft-rows "$DRAFT_ROWS")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $THREADS threads" >&2
for setting in greedy beam4; do
  python3 - "$MODEL/generate.json" "$setting" "$work" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))
s = next(s for s in g["settings"] if s["name"] == sys.argv[2])
with open(sys.argv[3] + "/in.jsonl", "w") as f:
    for c in s["cases"]:
        f.write(json.dumps({"input_ids": c["input_ids"]}) + "\n")
with open(sys.argv[3] + "/expected.json", "w") as f:
    json.dump([c["sequences"][0] for c in s["cases"]], f)
json.dump(s["params"], open(sys.argv[3] + "/params.json", "w"))
EOF
  for k in 0 "${K:-6}"; do
    "$BIN" summarize --model "$MODEL" --params "$(cat "$work/params.json")" --max-batch-size 1 --draft-tokens "$k" \
      "${rows[@]}" --bench-repeat "${REPEAT:-3}" < "$work/in.jsonl" > "$work/out-$k.jsonl" 2> "$work/err-$k.txt"
    grep '^{' "$work/err-$k.txt" | tail -1 > "$work/bench-$k.json"
  done
  python3 - "$work" "$setting" "${K:-6}" "${DRAFT_ROWS:-}" <<'EOF'
import json, sys
work, setting, k = sys.argv[1], sys.argv[2], sys.argv[3]
expected = json.load(open(work + "/expected.json"))
plain, drafted = (json.load(open(f"{work}/bench-{x}.json")) for x in ("0", k))
equal = True
for x in ("0", k):
    got = [json.loads(l)["token_ids"] for l in open(f"{work}/out-{x}.jsonl")]
    # transformers' sequences start with the decoder start token; the CLI's ids are the generated ones
    equal &= all(g == e[1:] or g == e for g, e in zip(got, expected)) and len(got) == len(expected)
texts = len(expected)
print(json.dumps({"setting": setting, "texts": texts, "draft_tokens": int(k), "steps": drafted["steps"],
                  "passes": drafted["passes"], "passes_plain": plain["passes"], "tokens": drafted["tokens"],
                  "passes_per_step": drafted["passes"] / max(1, drafted["steps"]),
                  "ms_per_summary": drafted["median"] * 1000 / texts,
                  "ms_per_summary_plain": plain["median"] * 1000 / texts,
                  "draft_rows": sys.argv[4] or None, "ids_equal": equal}))
EOF
done
