#!/usr/bin/env python3
"""The Python peer on the GPU, written like the original Python service (FastAPI + transformers), with
aiohttp standing in for FastAPI (the GPU machine has aiohttp and no FastAPI): the same routes, request and
response, one `generate` per request in a worker thread, MODEL_NAME / NUM_BEAMS / DTYPE / PORT.
"""
import asyncio
import os
import time

import torch
from aiohttp import web
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

MODEL = os.environ.get("MODEL_NAME", "facebook/bart-large-cnn")
BEAMS = int(os.environ.get("NUM_BEAMS", "4"))
DTYPE = {"fp16": torch.float16, "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}.get(
    os.environ.get("DTYPE", "fp16"), torch.float32)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL, dtype=DTYPE).to(DEVICE).eval()
lock = asyncio.Semaphore(int(os.environ.get("MAX_CONCURRENT_BATCH", "1")))


def summarize(texts, max_length, min_length, do_sample, temperature, top_p):
    inputs = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=1024).to(DEVICE)
    with torch.inference_mode():
        out = model.generate(**inputs, max_length=max_length, min_length=min_length, num_beams=BEAMS,
                             do_sample=do_sample, temperature=temperature, top_p=top_p)
    return tokenizer.batch_decode(out, skip_special_tokens=True)


async def handle(request):
    body = await request.json()
    t0 = time.perf_counter()
    async with lock:
        texts = await asyncio.to_thread(summarize, body["texts"], body.get("max_length", 130), body.get("min_length", 30),
                                        body.get("do_sample", False), body.get("temperature", 1.0), body.get("top_p", 1.0))
    return web.json_response({"summaries": [{"text": t} for t in texts], "model": MODEL, "device": DEVICE,
                              "latency_ms": round((time.perf_counter() - t0) * 1000, 1)})


async def health(_):
    return web.json_response({"status": "ok", "model": MODEL, "device": DEVICE})


app = web.Application()
app.router.add_post("/summarize", handle)
app.router.add_get("/health", health)
web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8001")), print=None)
