#!/usr/bin/env python3
"""Selector exploration on the dev file only (bench/quality/README.md): segments each article with the
Python port of Brevity's segmenter (scripts/fixtures/extractive/reference.py), embeds the sentences with
all-MiniLM-L6-v2 (sentence-transformers, cached in bench/out/quality-embeddings.npz), and scores
candidate selectors with ROUGE-1/2/Lsum F1 (rouge-score, stemming). Prints one line per configuration.
Run: ~/.cache/brevity/venv-st/bin/python bench/quality/explore.py [DEV_JSONL]
"""
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures", "extractive"))
sys.path.insert(0, HERE)
import reference  # noqa: E402
from selectors_py import clean, pacsum, caption_like  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

DEV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data", "news", "cnndm-dev.jsonl")
arts = [json.loads(l) for l in open(DEV)]
CACHE = os.path.join(ROOT, "bench", "out", "quality-embeddings.json")


def sentences_of(text, cleaned):
    return [s for s in reference.segment(clean(text) if cleaned else text)]


def embed_all():
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(os.path.join(ROOT, "models", "all-MiniLM-L6-v2"), device="cpu")
    out = {}
    for cleaned in (False, True):
        for a in arts:
            s = sentences_of(a["article"], cleaned)
            e = model.encode(s, convert_to_numpy=True, normalize_embeddings=True) if s else np.zeros((0, 384))
            out[f"{a['id']}:{int(cleaned)}"] = {"sentences": s, "emb": e.astype(float).tolist()}
    json.dump(out, open(CACHE, "w"))
    return out


data = json.load(open(CACHE)) if os.path.exists(CACHE) else embed_all()
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)


def evaluate(name, pick, cleaned=True):
    r = np.zeros(3)
    for a in arts:
        d = data[f"{a['id']}:{int(cleaned)}"]
        s, e = d["sentences"], np.array(d["emb"])
        idx = sorted(pick(s, e))
        summary = "\n".join(s[i] for i in idx)
        sc = scorer.score(a["reference"], summary)
        r += [sc["rouge1"].fmeasure, sc["rouge2"].fmeasure, sc["rougeLsum"].fmeasure]
    r = 100 * r / len(arts)
    print(f"{name:60s} {r[0]:6.2f} {r[1]:6.2f} {r[2]:6.2f}", flush=True)
    return r


if __name__ == "__main__":
    evaluate("lead-3 raw", lambda s, e: range(min(3, len(s))), cleaned=False)
    evaluate("lead-3 cleaned", lambda s, e: range(min(3, len(s))))
    for beta in [0.0, 0.3, 0.6]:
        for l1 in [-2.0, -1.0, -0.5, 0.0]:
            evaluate(f"pacsum beta={beta} l1={l1}", lambda s, e, b=beta, l=l1: pacsum(s, e, 3, beta=b, lambda1=l, lambda2=1.0))
