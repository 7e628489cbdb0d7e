"""The Python peer: a summarization service written like the Python original Brevity replaces (FastAPI +
Hugging Face transformers), for the service-level benchmark (bench/service/run.sh). Not part of Brevity.

Same contract: GET /health -> {status, model, device}; POST /summarize {texts, max_length, min_length,
do_sample, temperature, top_p} -> {summaries: [{text}], model, device, latency_ms}. Configured by
MODEL_NAME (a folder or hub id), NUM_BEAMS, DTYPE (float16 on a GPU, float32 on a CPU by default),
MAX_CONCURRENT_BATCH (requests generating at once; the others wait), PORT. Each request's texts are
padded into one batch and generated with model.generate in a worker thread.

Run: MODEL_NAME=bench/data/bart-large-cnn-random python bench/peers/fastapi_service.py
"""
import asyncio
import os
import time
from typing import List

import torch
import uvicorn
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

MODEL_NAME = os.environ.get("MODEL_NAME", "facebook/bart-large-cnn")
NUM_BEAMS = int(os.environ.get("NUM_BEAMS", "4"))
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
DTYPE = os.environ.get("DTYPE", "float16" if DEVICE == "cuda" else "float32")
MAX_CONCURRENT_BATCH = int(os.environ.get("MAX_CONCURRENT_BATCH", "1"))

tokenizer = AutoTokenizer.from_pretrained(MODEL_NAME)
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL_NAME, dtype=getattr(torch, DTYPE)).to(DEVICE).eval()
gate = asyncio.Semaphore(MAX_CONCURRENT_BATCH)
app = FastAPI()


class SummarizeRequest(BaseModel):
    texts: List[str] = Field(min_length=1)
    max_length: int = 130
    min_length: int = 30
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0


def generate(req: SummarizeRequest) -> List[str]:
    batch = tokenizer(req.texts, return_tensors="pt", padding=True, truncation=True,
                      max_length=model.config.max_position_embeddings).to(DEVICE)
    sampling = {"temperature": req.temperature, "top_p": req.top_p} if req.do_sample else {}
    with torch.inference_mode():
        out = model.generate(**batch, num_beams=1 if req.do_sample else NUM_BEAMS, max_length=req.max_length,
                             min_length=req.min_length, do_sample=req.do_sample, **sampling)
    return tokenizer.batch_decode(out, skip_special_tokens=True)


@app.get("/health")
async def health():
    return {"status": "ok", "model": MODEL_NAME, "device": DEVICE}


@app.post("/summarize")
async def summarize(req: SummarizeRequest):
    t0 = time.perf_counter()
    async with gate:
        texts = await run_in_threadpool(generate, req)
    return {"summaries": [{"text": t} for t in texts], "model": MODEL_NAME, "device": DEVICE,
            "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), log_level="warning")
