#!/usr/bin/env python3
"""ROUGE of Brevity's extractive summaries on news with human references (bench/quality/run.sh).

Posts every article of DEV (JSON lines: id, article, reference) to a running `brevity serve` (extractive)
once per system: each strategy with num_sentences 3, the position strategy with the reference's length
in sentences, and the originals' request (max_length 130, min_length 30, read as a token budget); lead-3
and lead-N are the raw article's first sentences as Brevity's segmenter splits them (its Python port in
scripts/fixtures/extractive/reference.py: the service's `lead` strategy cleans the text first). ROUGE-1/2/Lsum F1 with
stemming (rouge-score), summaries and references split into sentences by newlines for Lsum.
Prints a markdown table and writes bench/out/quality.json.
Usage: rouge.py URL DEV_JSONL
"""
import json
import os
import statistics
import sys
import time
import urllib.request

from rouge_score import rouge_scorer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures", "extractive"))
import reference  # noqa: E402  (the Python port of the segmenter)

URL, DEV = sys.argv[1], sys.argv[2]
arts = [json.loads(line) for line in open(DEV)]
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)


def post(body):
    req = urllib.request.Request(URL + "/summarize", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.load(r)
    return out, time.perf_counter() - t0


def summarize(article, params):
    out, seconds = post({"texts": [article], "mode": "extractive", **params})
    s = out["summaries"][0]
    return "\n".join(x["text"] for x in s["sentences"]), seconds


def score(pairs):
    r = [0.0, 0.0, 0.0]
    for summary, ref in pairs:
        sc = scorer.score(ref, summary)
        for k, name in enumerate(["rouge1", "rouge2", "rougeLsum"]):
            r[k] += sc[name].fmeasure
    return [100 * x / len(pairs) for x in r]


systems = {
    "Brevity position (default), 3 sentences": {"num_sentences": 3},
    "Brevity pacsum, 3 sentences": {"num_sentences": 3, "strategy": "pacsum"},
    "Brevity centrality (the previous default), 3 sentences": {"num_sentences": 3, "strategy": "centrality"},
    "Brevity lead (cleaned), 3 sentences": {"num_sentences": 3, "strategy": "lead"},
    "Brevity position, the originals' request (max_length 130, min_length 30)": {"max_length": 130, "min_length": 30},
    "Brevity position, the reference's number of sentences": None,
}
rows, results = [], {}
lead3 = [("\n".join(reference.segment(a["article"])[:3]), a["reference"]) for a in arts]
results["lead-3 (first three sentences of the raw text)"] = {"rouge": score(lead3)}
leadN = [("\n".join(reference.segment(a["article"])[:max(1, len(a["reference"].split("\n")))]), a["reference"]) for a in arts]
results["lead-N (the raw text's first sentences, as many as the reference has)"] = {"rouge": score(leadN)}
for name, params in systems.items():
    pairs, times = [], []
    for a in arts:
        p = params if params is not None else {"num_sentences": max(1, len(a["reference"].split("\n")))}
        summary, seconds = summarize(a["article"], p)
        pairs.append((summary, a["reference"]))
        times.append(seconds)
    results[name] = {"rouge": score(pairs), "median_seconds": statistics.median(times), "max_seconds": max(times)}
print("| system | ROUGE-1 | ROUGE-2 | ROUGE-Lsum | median s / article |")
print("| --- | --- | --- | --- | --- |")
for name, r in results.items():
    s = r.get("median_seconds")
    print(f"| {name} | {r['rouge'][0]:.2f} | {r['rouge'][1]:.2f} | {r['rouge'][2]:.2f} | {'-' if s is None else f'{s:.3f}'} |")
os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
json.dump({"dev": os.path.basename(DEV), "articles": len(arts), "results": results},
          open(os.path.join(ROOT, "bench", "out", "quality.json"), "w"), indent=1)
