#!/usr/bin/env bash
# The example package (Examples/Summarize) against this checkout: it builds with BrevityKit as a path
# dependency (a debug build of its own in .build-example), summarizes the tiny fixture model's texts, and
# its streamed summaries must equal transformers' (Tests/Fixtures/summarizer-tiny/expected.json, the
# model's generation defaults). Then the documentation comments of BrevityKit's public API are built
# with docc, and a missing or broken comment fails (README, "Swift library").
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=.build-example
swift build --package-path Examples/Summarize --scratch-path "$SCRATCH" -Xswiftc -emit-symbol-graph \
    -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$SCRATCH/symbol-graphs"
BIN="$SCRATCH/debug/summarize-example"
FIXTURE=Tests/Fixtures/summarizer-tiny
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$FIXTURE/expected.json" "$WORK" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for i, t in enumerate(d["texts"]):
    open(f"{sys.argv[2]}/{i:02d}.txt", "w").write(t)
PY
"$BIN" "$FIXTURE" "$WORK"/*.txt > "$WORK/out" 2> "$WORK/err"
cat "$WORK/err"
python3 - "$FIXTURE/expected.json" "$WORK/out" <<'PY'
import json, sys
want = [o["text"] for o in json.load(open(sys.argv[1]))["settings"]["defaults"]["outputs"]]
assert all("\n" not in w for w in want), "a summary spans lines; compare differently"
got = open(sys.argv[2], encoding="utf-8").read().split("\n")
assert got[-1] == "", "output ends with a newline"
got = got[:-1]
assert len(got) == len(want), f"{len(got)} summaries, expected {len(want)}"
bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
assert not bad, f"summaries differ from transformers' at {bad}: {got[bad[0]]!r} != {want[bad[0]]!r}"
print(f"example: {len(got)} streamed summaries equal transformers'")
PY
# an unusable model is an error with a message, not a crash
if "$BIN" "$WORK/nonexistent" < /dev/null 2> "$WORK/err2"; then echo "no error for a missing model" >&2; exit 1; fi
grep -q "summarize-example:" "$WORK/err2" && echo "example: a missing model is an error: $(head -c 160 "$WORK/err2")"

# BrevityKit's documentation: every public symbol has a comment, and DocC builds with no warning.
GRAPHS="$WORK/graphs"
mkdir -p "$GRAPHS"
cp "$SCRATCH"/symbol-graphs/BrevityKit*.symbols.json "$GRAPHS/"
python3 - "$GRAPHS/BrevityKit.symbols.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
# what the compiler synthesizes (Hashable; a raw-value enum's init(rawValue:) and rawValue) has no source to comment
public = [s for s in g["symbols"] if s["accessLevel"] in ("public", "open")
          and "::SYNTHESIZED::" not in s["identifier"]["precise"]
          and s["pathComponents"][-1] not in ("init(rawValue:)", "rawValue")]
missing = [".".join(s["pathComponents"]) for s in public if not s.get("docComment")]
assert not missing, f"public symbols without a documentation comment: {missing}"
print(f"docs: {len(public)} public symbols of BrevityKit, each with a documentation comment")
PY
docc convert Sources/BrevityKit/BrevityKit.docc --additional-symbol-graph-dir "$GRAPHS" \
    --fallback-display-name BrevityKit --fallback-bundle-identifier org.brevity.BrevityKit \
    --warnings-as-errors --output-path "$WORK/BrevityKit.doccarchive" > "$WORK/docc.log" 2>&1 \
    || { cat "$WORK/docc.log"; echo "docc failed" >&2; exit 1; }
echo "docs: DocC built BrevityKit's documentation with no warnings"
