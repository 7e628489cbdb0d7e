#!/usr/bin/env bash
# Encoder-decoder benchmark (docs/architecture.md §4 workload) on random weights with a real summarizer's shape:
# Brevity (float32, bfloat16, int8), transformers (float32, bfloat16) and CTranslate2 (float32, int8) side by
# side, case by case, in one run. Each line: median seconds of generation (loading excluded) and the peak
# resident memory of the whole process (loading included). Usage: bench/bart/run.sh   (REPEAT=3 THREADS=2 by
# default; 8 x beam 4 runs REPEAT_8X=1 time after its warm-up: 3 gives it a median too, ~4 more minutes with
# transformers bfloat16). Needs the fixture venv (scripts/fixtures/bart/requirements.txt, plus ctranslate2):
# VENV=~/.cache/brevity/venv-bart.
# Cases: article and 8x_article (the headline: the first and the first 8 of ten CNN/DailyMail test articles of
# ../shared/data/news, tokenized by the model's tokenizer and cut at ARTICLE_TOKENS, 700 by default, beam 4, 60
# tokens forced); beam1, beam4, 8x_beam4 (60-token inputs, 60 tokens forced); long_beam4 (one input of LONG_TOKENS,
# 1,024 for BART and Pegasus, 512 for T5 (its tokenizer's limit), 142 tokens forced, beam 4: REPEAT_LONG=1 run
# after its warm-up); encoder1024 (the encoder alone over that input: Brevity's pass includes the decoder's
# cross-attention keys and values, which transformers computes at its first step; CTranslate2 has no encoder
# call for seq2seq models, so its line is the encoder plus one decoder step).
#   ARCH=bart-large-cnn (default) | pegasus-large | t5-base   the shape (bench/bart/make_model.py), its inputs
#   CASES="article 8x_article beam1 beam4 8x_beam4 long_beam4 encoder1024"  BREVITY_DTYPES="float32 bfloat16 int8"
#   HF_DTYPES="float32 bfloat16"  CT2_TYPES="float32 int8" ("" skips CTranslate2)
#   BIN=path: an already-built binary (no swift build)
# Brevity's float32 sequences are compared with transformers' float32 ones (every input of the case, every
# token): "same_ids_as_brevity_float32" on transformers' float32 line.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-$HOME/.cache/brevity/venv-bart}
PY=$VENV/bin/python
ARCH=${ARCH:-bart-large-cnn}
case $ARCH in
  bart-large-cnn) TAG=bart LONG_TOKENS=1024;;
  pegasus-large) TAG=pegasus LONG_TOKENS=1024;;
  t5-base) TAG=t5 LONG_TOKENS=512;;
  *) echo "ARCH: bart-large-cnn, pegasus-large or t5-base, not $ARCH" >&2; exit 2;;
esac
MODEL=${MODEL:-bench/data/$ARCH-random}
REPEAT=${REPEAT:-3}
REPEAT_8X=${REPEAT_8X:-1}
REPEAT_LONG=${REPEAT_LONG:-1}
export THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
CASES=${CASES:-article 8x_article beam1 beam4 8x_beam4 long_beam4 encoder1024}
REPEAT_ARTICLES=${REPEAT_ARTICLES:-$REPEAT}
ARTICLE_TOKENS=${ARTICLE_TOKENS:-700}
NEWS=${NEWS:-../shared/data/news/cnndm-dev.jsonl}
BREVITY_DTYPES=${BREVITY_DTYPES:-float32 bfloat16 int8}
HF_DTYPES=${HF_DTYPES:-float32 bfloat16}
CT2_TYPES=${CT2_TYPES-float32 int8}

[ -f "$MODEL/model.safetensors" ] || "$PY" bench/bart/make_model.py "$MODEL" "$ARCH"
# BIN=path runs an already-built binary
BIN=${BIN:-.build/release/brevity}
[ "$BIN" = .build/release/brevity ] && swift build -c release >/dev/null

# Random ids among the model's ordinary tokens: 8 inputs of 60 tokens, and one of LONG_TOKENS. BART: <s> +
# ids + </s>; Pegasus and T5 (no BOS): ids + </s> (id 1). Pegasus' ids 2-105 are <mask_1>, <mask_2>,
# <unk_2>..<unk_102>; T5's 32000-32127 are <extra_id_N> and unused rows.
make_inputs() {   # path, tokens per input, inputs, seed
  "$PY" - "$1" "$ARCH" "$2" "$3" "$4" <<'PYEOF'
import json, random, sys
arch, length, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
random.seed(int(sys.argv[5]))
with open(sys.argv[1], "w") as f:
    for _ in range(count):
        if arch == "bart-large-cnn":
            ids = [0] + [random.randrange(4, 50000) for _ in range(length - 2)] + [2]
        elif arch == "pegasus-large":
            ids = [random.randrange(106, 96103) for _ in range(length - 1)] + [1]
        else:
            ids = [random.randrange(3, 32000) for _ in range(length - 1)] + [1]
        f.write(json.dumps({"input_ids": ids}) + "\n")
PYEOF
}
INPUTS=bench/data/$TAG-inputs.jsonl LONG=bench/data/$TAG-long.jsonl ARTICLES=bench/data/$TAG-articles.jsonl
make_inputs "$INPUTS" 60 8 0
make_inputs "$LONG" "$LONG_TOKENS" 1 1
# The first ten articles of $NEWS as the model's tokenizer encodes them (special tokens added), cut at
# ARTICLE_TOKENS as a service truncates them (the last token kept the end of sequence).
"$PY" - "$MODEL/tokenizer.json" "$NEWS" "$ARTICLE_TOKENS" "$ARTICLES" <<'PYEOF'
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
tok.no_padding()
tok.enable_truncation(int(sys.argv[3]))
with open(sys.argv[4], "w") as f:
    for line in list(open(sys.argv[2]))[:10]:
        f.write(json.dumps({"input_ids": tok.encode(json.loads(line)["article"]).ids}) + "\n")
PYEOF

# peak resident memory of a command, appended to its JSON line, and "others": the share of the machine's
# cores that other processes kept busy meanwhile (the CPU time of the whole machine, /proc/stat, less the
# command's own; above ~0.1 the line is contaminated: torch's threads in particular slow down many times
# when a core is taken)
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
peak() { b0=$(busy); /usr/bin/time -f "%M %U %S %e" -o bench/data/peak.txt "$@"; b1=$(busy); }
mem() { echo "$(( $(tail -n 1 bench/data/peak.txt | cut -d' ' -f1) / 1024 ))"; }
others() { tail -n 1 bench/data/peak.txt | awk -v b=$((b1 - b0)) -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" \
  '{o = b / hz - $2 - $3; if (o < 0) o = 0; printf "%.2f", ($4 > 0 ? o / ($4 * n) : 0)}'; }
# the first 8 ids of the first sequence in a {"token_ids"} JSONL file
first_ids() { head -n 1 "$1" | "$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["token_ids"][:8])'; }
# whether two {"token_ids"} JSONL files hold the same sequences
same_ids() { "$PY" -c 'import json, sys
a, b = ([json.loads(l)["token_ids"] for l in open(p)] for p in sys.argv[1:3])
print("true" if a == b else "false")' "$1" "$2"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -o -m1 -w 'avx512f\|avx2' /proc/cpuinfo | head -1); arch=$ARCH threads=$THREADS repeat=$REPEAT repeat_8x=$REPEAT_8X; $(date -u +%F)"
ct2_ok=1
for case in $CASES; do
  # beams (0: the encoder alone), inputs, their source, the forced length, timed runs
  case $case in
    article) beams=4 n=1 src=$ARTICLES len=60 r=$REPEAT_ARTICLES;;
    8x_article) beams=4 n=8 src=$ARTICLES len=60 r=$REPEAT_ARTICLES;;
    beam1) beams=1 n=1 src=$INPUTS len=60 r=$REPEAT;;
    beam4) beams=4 n=1 src=$INPUTS len=60 r=$REPEAT;;
    8x_beam4) beams=4 n=8 src=$INPUTS len=60 r=$REPEAT_8X;;
    long_beam4) beams=4 n=1 src=$LONG len=142 r=$REPEAT_LONG;;
    encoder1024) beams=0 n=1 src=$LONG len=0 r=$REPEAT;;
    *) echo "unknown case $case (article 8x_article beam1 beam4 8x_beam4 long_beam4 encoder1024)" >&2; exit 2;;
  esac
  head -n "$n" "$src" > bench/data/$TAG-in-$case.jsonl
  rm -f bench/data/$TAG-out-float32.jsonl
  for dtype in $BREVITY_DTYPES; do
    if [ "$beams" = 0 ]; then
      peak "$BIN" summarize --model "$MODEL" --max-batch-size 8 --dtype "$dtype" --bench-encoder --bench-repeat "$r" \
        < bench/data/$TAG-in-$case.jsonl 2> bench/data/$TAG-brevity.json > bench/data/$TAG-out.jsonl
      ids=null
    else
      peak "$BIN" summarize --model "$MODEL" --max-batch-size 8 --dtype "$dtype" --bench-repeat "$r" \
        --params "{\"min_length\": $len, \"max_length\": $len, \"no_repeat_ngram_size\": 3, \"num_beams\": $beams}" \
        < bench/data/$TAG-in-$case.jsonl 2> bench/data/$TAG-brevity.json > bench/data/$TAG-out.jsonl
      [ "$dtype" = float32 ] && cp bench/data/$TAG-out.jsonl bench/data/$TAG-out-float32.jsonl
      ids=$(first_ids bench/data/$TAG-out.jsonl)
    fi
    echo "{\"system\": \"brevity/$dtype\", \"case\": \"$case\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"peak_mib\": $(mem), \"others\": $(others), \"first_ids\": $ids, \"timing\": $(tail -n 1 bench/data/$TAG-brevity.json)}"
  done
  for dtype in $HF_DTYPES; do
    DTYPE=$dtype REPEAT=$r IDS_OUT=bench/data/$TAG-hf-out.jsonl peak "$PY" bench/bart/bench_hf.py "$MODEL" "$src" "$case" \
      2>/dev/null > bench/data/line.json
    same=""
    if [ "$dtype" = float32 ] && [ -f bench/data/$TAG-out-float32.jsonl ]; then
      same=", \"same_ids_as_brevity_float32\": $(same_ids bench/data/$TAG-out-float32.jsonl bench/data/$TAG-hf-out.jsonl)"
    fi
    sed "s/}\$/, \"peak_mib\": $(mem), \"others\": $(others)$same}/" bench/data/line.json
  done
  for compute in $CT2_TYPES; do
    [ $ct2_ok = 1 ] || break
    if REPEAT=$r peak "$PY" bench/bart/bench_ct2.py "$MODEL" "$src" "$case" "$compute" 2> bench/data/ct2-err.txt > bench/data/line.json; then
      sed "s/}\$/, \"peak_mib\": $(mem), \"others\": $(others)}/" bench/data/line.json
    else
      ct2_ok=0
      echo "{\"system\": \"ctranslate2/$compute\", \"case\": \"$case\", \"skipped\": \"$(tail -n 1 bench/data/ct2-err.txt | tr -d '"\\' | cut -c1-200)\"}"
    fi
  done
done
