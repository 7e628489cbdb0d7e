#!/usr/bin/env python3
"""Reference throughput of Hugging Face `tokenizers` on the bench corpus, single-threaded.

    python bench/tokenizers/hf_bench.py TOKENIZER_JSON [--corpus bench/data/corpus.txt] [--runs 3]

Reads the corpus as UTF-8, splits it on "\\n" (dropping the empty tail), and times two ways of
encoding every line with parallelism off (TOKENIZERS_PARALLELISM=false, RAYON_NUM_THREADS=1):
`tok.encode_batch(lines)` and a loop of `tok.encode(line)`. Each gets one untimed warm-up pass and
then --runs timed passes; the faster method (by median) is reported. Padding and truncation stored
in the tokenizer.json are switched off (unless --keep-file-settings), special tokens are added
(unless --no-special-tokens). "tokens" is the total number of ids over all lines, for a parity
check with Brevity's own run over the same file.

Prints a human summary on stderr and one JSON object on stdout:
{"tokenizer", "bytes", "lines", "seconds_median", "mb_per_s", "tokens", "method", ...}
(mb_per_s counts 1e6 bytes of UTF-8 input per second).
"""

from __future__ import annotations

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokenizer", help="path to a tokenizer.json")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "bench", "data", "corpus.txt"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-special-tokens", action="store_true", help="encode with add_special_tokens=False")
    ap.add_argument("--keep-file-settings", action="store_true",
                    help="keep the padding/truncation stored in the tokenizer.json")
    ap.add_argument("--methods", default="batch,loop", help="comma list of: batch, loop")
    args = ap.parse_args()

    tok = Tokenizer.from_file(args.tokenizer)
    if not args.keep_file_settings:
        tok.no_padding()
        tok.no_truncation()
    add_special = not args.no_special_tokens

    with open(args.corpus, "rb") as f:
        raw = f.read()
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    def run_batch() -> int:
        return sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=add_special))

    def run_loop() -> int:
        enc = tok.encode
        n = 0
        for line in lines:
            n += len(enc(line, add_special_tokens=add_special).ids)
        return n

    methods = {"batch": ("encode_batch", run_batch), "loop": ("encode_loop", run_loop)}
    results = {}
    token_counts = set()
    for key in args.methods.split(","):
        label, fn = methods[key.strip()]
        token_counts.add(fn())  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            n = fn()
            times.append(time.perf_counter() - t0)
            token_counts.add(n)
        results[label] = {"runs_s": [round(t, 4) for t in times], "median_s": statistics.median(times)}
        print(f"{label}: runs {', '.join(f'{t:.3f}s' for t in times)}", file=sys.stderr)
    if len(token_counts) != 1:
        raise SystemExit(f"token counts differ between runs/methods: {sorted(token_counts)}")
    tokens = token_counts.pop()
    best = min(results, key=lambda k: results[k]["median_s"])
    secs = results[best]["median_s"]
    out = {
        "tokenizer": os.path.relpath(os.path.abspath(args.tokenizer), ROOT)
        if os.path.abspath(args.tokenizer).startswith(ROOT + os.sep) else os.path.basename(args.tokenizer),
        "bytes": len(raw),
        "lines": len(lines),
        "seconds_median": round(secs, 4),
        "mb_per_s": round(len(raw) / 1e6 / secs, 3),
        "tokens": tokens,
        "method": best,
        "methods": {k: {"runs_s": v["runs_s"], "median_s": round(v["median_s"], 4)} for k, v in results.items()},
        "add_special_tokens": add_special,
        "file_padding_truncation_kept": args.keep_file_settings,
        "threads": 1,
        "tokenizers_version": tokenizers.__version__,
    }
    print(f"total tokens: {tokens}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
