#!/usr/bin/env python3
"""transformers' `generate` on the benchmark model: the docs/architecture.md §4 workload (60-token input, 60 tokens
forced with min_length = max_length = 60, no-repeat 3-gram), beam 1, beam 4 and 8 inputs x beam 4; with the article file,
article and 8x_article (one and 8 real articles of different lengths, padded and masked, beam 4, 60 forced); with
the long input file (bench/bart/run.sh), long_beam4 (142 tokens forced, beam 4) and encoder1024 (the encoder alone).
Prints one JSON line per case: medians of REPEAT runs after a warm-up, THREADS torch threads. Any seq2seq model
transformers' AutoModelForSeq2SeqLM loads (BART, Pegasus, T5). IDS_OUT=path also writes the warm-up's sequences,
one {"token_ids": [...]} line per input (padding stripped), to compare with Brevity's output.
Usage: bench_hf.py MODEL_FOLDER INPUTS_JSONL [CASE]"""
import json
import os
import statistics
import sys
import time

import torch
from transformers import AutoModelForSeq2SeqLM

folder, inputs_path = sys.argv[1], sys.argv[2]
only = sys.argv[3] if len(sys.argv) > 3 else None   # one case, to run beside Brevity's
threads = int(os.environ.get("THREADS", "2"))
repeat = int(os.environ.get("REPEAT", "3"))
dtype = os.environ.get("DTYPE", "float32")
ids_out = os.environ.get("IDS_OUT")
torch.set_num_threads(threads)
model = AutoModelForSeq2SeqLM.from_pretrained(folder, dtype=getattr(torch, dtype)).eval()
inputs = [json.loads(l)["input_ids"] for l in open(inputs_path)]
# name, beams (0: the encoder alone), inputs, forced length
cases = [("article", 4, 1, 60), ("8x_article", 4, 8, 60), ("beam1", 1, 1, 60), ("beam4", 4, 1, 60), ("8x_beam4", 4, 8, 60), ("long_beam4", 4, 1, 142), ("encoder1024", 0, 1, 0)]
for name, beams, n, length in cases:
    if (only and name != only) or (not only and (length != 60 or "article" in name)):
        continue
    # inputs of different lengths (articles) padded on the right, masked as a tokenizer's batch would be
    width = max(len(i) for i in inputs[:n])
    pad = model.config.pad_token_id
    ids = torch.tensor([i + [pad] * (width - len(i)) for i in inputs[:n]])
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in inputs[:n]])
    kwargs = dict(num_beams=beams, min_length=length, max_length=length, no_repeat_ngram_size=3, attention_mask=mask)
    run = (lambda: model.get_encoder()(input_ids=ids)) if beams == 0 else (lambda: model.generate(ids, **kwargs))
    with torch.inference_mode():
        out = run()   # warm-up
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    if beams == 0:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        print(json.dumps({"system": f"transformers/{dtype}", "load": load, "case": name, "tokens": ids.shape[1],
                          "median_s": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times]}), flush=True)
        continue
    if ids_out:
        pad, eos = model.generation_config.pad_token_id, model.generation_config.eos_token_id
        with open(ids_out, "w") as f:
            for seq in out.tolist():
                # batch padding: pads after the first EOS (the decoder start is the pad for Pegasus and T5)
                end = next((i for i in range(1, len(seq)) if seq[i] == eos), len(seq) - 1) + 1
                if all(t == pad for t in seq[end:]):
                    seq = seq[:end]
                f.write(json.dumps({"token_ids": seq}) + "\n")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(json.dumps({"system": f"transformers/{dtype}", "load": load, "case": name, "median_s": round(statistics.median(times), 3),
                      "runs": [round(t, 3) for t in times], "first_ids": out[0][:8].tolist()}), flush=True)
