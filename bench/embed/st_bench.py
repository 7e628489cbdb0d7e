#!/usr/bin/env python3
"""sentence-transformers' side of bench/embed/run.sh: SentenceTransformer.encode on a JSON Lines file of
{"text": ...}, torch with a given number of threads, float32 on the CPU; one warm-up pass, then RUNS timed
passes; prints one JSON line with the median. Usage: st_bench.py MODEL_DIR FILE [--runs 3] [--threads 2]
[--batch-size 64]"""
import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    texts = [json.loads(line)["text"] for line in open(a.file, encoding="utf-8") if line.strip()]
    t0 = time.perf_counter()
    model = SentenceTransformer(a.model, device="cpu")
    load = time.perf_counter() - t0
    tokens = sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"])
    model.encode(texts, batch_size=a.batch_size)  # warm-up
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.encode(texts, batch_size=a.batch_size, convert_to_numpy=True)
        times.append(time.perf_counter() - t0)
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"system": "sentence-transformers", "versions": {
        "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
        "torch": torch.__version__}, "threads": torch.get_num_threads(), "sentences": len(texts), "tokens": tokens,
        "batch_size": a.batch_size, "load_seconds": round(load, 3), "seconds": [round(t, 4) for t in times],
        "seconds_median": round(med, 4), "sentences_per_s": round(len(texts) / med, 1)}))


if __name__ == "__main__":
    main()
