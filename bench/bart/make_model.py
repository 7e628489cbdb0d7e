#!/usr/bin/env python3
"""Random weights with facebook/bart-large-cnn's exact shape (406M parameters), for benchmarks only.

Writes OUT (default bench/data/bart-large-cnn-random, gitignored): config.json, generation_config.json
(bart-large-cnn's generation defaults), model.safetensors (float32, tied copies omitted) and the BART
tokenizer.json from Tests/Fixtures/tokenizers/bart. Never commit the output.
"""
import os
import shutil
import sys

import torch
from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "data", "bart-large-cnn-random")

# facebook/bart-large-cnn config.json (shape and special tokens)
config = BartConfig(
    vocab_size=50264, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
    decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
    activation_function="gelu", scale_embedding=False, pad_token_id=1, bos_token_id=0, eos_token_id=2,
    decoder_start_token_id=2, forced_bos_token_id=0, forced_eos_token_id=2, dropout=0.1,
)
torch.manual_seed(0)
model = BartForConditionalGeneration(config).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "layer_norm" in name or "layernorm" in name:
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.05 * torch.randn_like(p))
model.generation_config = GenerationConfig(
    num_beams=4, max_length=142, min_length=56, length_penalty=2.0, no_repeat_ngram_size=3, early_stopping=True,
    forced_bos_token_id=0, forced_eos_token_id=2, decoder_start_token_id=2, bos_token_id=0, eos_token_id=2,
    pad_token_id=1)
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT)
shutil.copy(os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", "bart", "tokenizer.json"), OUT)
print(OUT, sum(p.numel() for p in model.parameters()), "parameters")
