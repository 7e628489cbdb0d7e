#!/usr/bin/env python3
"""CTranslate2 on the benchmark model (BART, Pegasus or T5), converted from the same safetensors
(docs/architecture.md §4 workload: 60-token inputs, the length forced, no-repeat 3-gram), one case per call. Usage:
    bench_ct2.py MODEL_FOLDER INPUTS_JSONL CASE COMPUTE_TYPE      (CASE: article, 8x_article (the article file),
    beam1, beam4, 8x_beam4, long_beam4 (142
    tokens forced), encoder1024 (CTranslate2 has no encoder call for seq2seq models: the encoder and one decoder
    step); float32 or int8)
The converted model is cached beside the inputs (bench/data/, gitignored). CTranslate2 counts generated
tokens without the decoder start token, so max_length 60 of transformers is 59 here. One JSON line out."""
import json
import os
import statistics
import sys
import time

import ctranslate2
from tokenizers import Tokenizer

folder, inputs_path, case, compute = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
threads = int(os.environ.get("THREADS", "2"))
repeat = int(os.environ.get("REPEAT", "3"))
out = os.path.join(os.path.dirname(inputs_path), "ct2-" + os.path.basename(folder.rstrip("/")))
if not os.path.exists(os.path.join(out, "model.bin")):
    # CTranslate2 4.8's BART loader (also Pegasus') reads config.normalize_before, which transformers 5 no
    # longer sets (BART is post-norm: False; Pegasus is pre-norm: True), and takes a missing
    # normalize_embedding for True (Pegasus has no embedding layer norm). T5 converts as it is.
    import transformers
    transformers.BartConfig.normalize_before = False
    transformers.PegasusConfig.normalize_before = True
    transformers.PegasusConfig.normalize_embedding = False
    ctranslate2.converters.TransformersConverter(folder).convert(out, force=True)
tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
beams, n, length = {"article": (4, 1, 60), "8x_article": (4, 8, 60), "beam1": (1, 1, 60), "beam4": (4, 1, 60), "8x_beam4": (4, 8, 60), "long_beam4": (4, 1, 142),
                     "encoder1024": (1, 1, 2)}[case]
sources = [[tok.id_to_token(i) for i in json.loads(l)["input_ids"]] for l in open(inputs_path)][:n]
t0 = time.perf_counter()
model = ctranslate2.Translator(out, device="cpu", compute_type=compute, inter_threads=1, intra_threads=threads)
load = time.perf_counter() - t0
kwargs = dict(beam_size=beams, min_decoding_length=length - 1, max_decoding_length=length - 1, no_repeat_ngram_size=3,
              max_batch_size=8, max_input_length=0)   # 0: no truncation (the default is 1,024)
result = model.translate_batch(sources, **kwargs)   # warm-up
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    model.translate_batch(sources, **kwargs)
    times.append(time.perf_counter() - t0)
loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
print(json.dumps({"system": f"ctranslate2-{ctranslate2.__version__}/{compute}", "load": loadavg, "case": case,
                  "median_s": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times],
                  "load_s": round(load, 1), "tokens": len(result[0].hypotheses[0]),
                  "first_ids": [tok.token_to_id(t) for t in result[0].hypotheses[0][:8]]}), flush=True)   # no decoder start
