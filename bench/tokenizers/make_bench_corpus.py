#!/usr/bin/env python3
"""Write the tokenizer benchmark corpus, bench/data/corpus.txt (gitignored), deterministically.

    python3 bench/tokenizers/make_bench_corpus.py [--mb 12] [--out bench/data/corpus.txt]

About 12 MB of UTF-8 text, one paragraph per line, from a seeded mix of the fixture-corpus pieces
(scripts/fixtures/tokenizers/corpus_pieces.py): ~70% English news-like prose, ~12% other scripts,
~8% code/markup/URLs, ~10% random mixtures (emoji, numbers, punctuation, odd spaces).

Lines are separated by "\\n" only, and no line holds "\\r", other line/paragraph separators
(U+000B, U+000C, U+001C-U+001E, U+0085, U+2028, U+2029) or other C0/C1 controls except "\\t",
so every reader (Python, Swift) splits it into the same lines. No empty lines. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures", "tokenizers"))

import corpus_pieces as cp  # noqa: E402

SEED = 4242
# Anything a line reader might treat as a line break, and other controls (tab is kept).
_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def clean(s: str) -> str:
    return re.sub(" {3,}", "  ", _BAD.sub(" ", s)).strip(" ")


def paragraph(rng: random.Random, pool: list[str]) -> str:
    r = rng.random()
    if r < 0.70:
        n = rng.randint(1, 6)
        parts = []
        for _ in range(n):
            parts.append(cp.news_sentence(rng) if rng.random() < 0.8 else rng.choice(cp.ENGLISH + cp.CONTRACTION_SENTENCES))
        return " ".join(parts)
    if r < 0.82:
        return " ".join(rng.choice(cp.ALL_SCRIPT_SENTENCES) for _ in range(rng.randint(1, 4)))
    if r < 0.90:
        return " ".join(rng.choice(cp.TECH) for _ in range(rng.randint(1, 3)))
    return cp.random_combo(rng, pool, max_pieces=6, max_len=600)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=12.0, help="target size in MB (1e6 bytes)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "data", "corpus.txt"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    pool = cp.piece_pool(rng)
    target = int(args.mb * 1_000_000)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    size = lines = 0
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        while size < target:
            line = clean(paragraph(rng, pool))
            if not line:
                continue
            data = line + "\n"
            f.write(data)
            size += len(data.encode("utf-8"))
            lines += 1
    print(f"wrote {os.path.relpath(os.path.abspath(args.out), ROOT)}: {size} bytes, {lines} lines")


if __name__ == "__main__":
    main()
