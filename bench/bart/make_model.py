#!/usr/bin/env python3
"""Random weights with a real summarizer's exact shape, for benchmarks only.

Usage: make_model.py [OUT] [ARCH] [--tokenizers DIR]
  ARCH  bart-large-cnn (default; facebook/bart-large-cnn, 406M parameters),
        pegasus-large (google/pegasus-large, 571M: 16+16 pre-norm layers, sinusoidal positions, scaled
        embeddings, relu, tied head + final_logits_bias), or
        t5-base (google-t5/t5-base, 223M: T5 v1.0, relu, 12+12 layers, 32 relative-position buckets up to
        distance 128, tied head scaled by d_model^-0.5).
  OUT   default bench/data/ARCH-random (gitignored).
  DIR   the shared tokenizers (pegasus/, t5/): --tokenizers, else BREVITY_TOKENIZERS, else
        ../shared/data/tokenizers relative to the repository root.

Writes OUT: config.json, generation_config.json (the hub checkpoint's generation defaults),
model.safetensors (float32, tied copies omitted) and the tokenizer files (BART: Tests/Fixtures/tokenizers/bart;
Pegasus and T5: tokenizer.json, tokenizer_config.json and special_tokens_map.json of DIR/pegasus or DIR/t5).
The weights are transformers' own random initialisation (seed 0) with every layer norm's weight near 1
(1 + 0.05 N(0, 1)) and bias near 0, as for BART; only the shapes and special tokens are the real model's.
Never commit the output.
"""
import argparse
import os
import shutil

import torch
from transformers import GenerationConfig

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ARCHS = ("bart-large-cnn", "pegasus-large", "t5-base")

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("out", nargs="?")
parser.add_argument("arch", nargs="?", default="bart-large-cnn", choices=ARCHS)
parser.add_argument("--tokenizers", default=os.environ.get("BREVITY_TOKENIZERS")
                    or os.path.join(ROOT, "..", "shared", "data", "tokenizers"))
args = parser.parse_args()
OUT = args.out or os.path.join(ROOT, "bench", "data", f"{args.arch}-random")


def bart_large_cnn():
    from transformers import BartConfig, BartForConditionalGeneration
    # facebook/bart-large-cnn config.json (shape and special tokens)
    config = BartConfig(
        vocab_size=50264, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
        decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
        activation_function="gelu", scale_embedding=False, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, forced_bos_token_id=0, forced_eos_token_id=2, dropout=0.1,
    )
    generation = GenerationConfig(
        num_beams=4, max_length=142, min_length=56, length_penalty=2.0, no_repeat_ngram_size=3, early_stopping=True,
        forced_bos_token_id=0, forced_eos_token_id=2, decoder_start_token_id=2, bos_token_id=0, eos_token_id=2,
        pad_token_id=1)
    return BartForConditionalGeneration, config, generation, [os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", "bart")]


def pegasus_large():
    from transformers import PegasusConfig, PegasusForConditionalGeneration
    # google/pegasus-large config.json (shape and special tokens; its task_specific_params are per data set,
    # none named "summarization", and are left out)
    config = PegasusConfig(
        vocab_size=96103, d_model=1024, encoder_layers=16, decoder_layers=16, encoder_attention_heads=16,
        decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
        activation_function="relu", scale_embedding=True, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, forced_eos_token_id=1, dropout=0.1, attention_dropout=0.1,
        activation_dropout=0.1,
    )
    # google/pegasus-large generation_config.json
    generation = GenerationConfig(
        num_beams=8, max_length=256, length_penalty=0.8, forced_eos_token_id=1, decoder_start_token_id=0,
        eos_token_id=1, pad_token_id=0)
    return PegasusForConditionalGeneration, config, generation, [os.path.join(args.tokenizers, "pegasus")]


def t5_base():
    from transformers import T5Config, T5ForConditionalGeneration
    # google-t5/t5-base config.json (shape and special tokens; task_specific_params left out, so that
    # Brevity's summarization rule and transformers' generate see the same generation values)
    config = T5Config(
        vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_decoder_layers=12, num_heads=12,
        relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.1,
        layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="relu", tie_word_embeddings=True,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    # google-t5/t5-base generation_config.json
    generation = GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    return T5ForConditionalGeneration, config, generation, [os.path.join(args.tokenizers, "t5")]


cls, config, generation, tokenizer_dirs = {"bart-large-cnn": bart_large_cnn, "pegasus-large": pegasus_large,
                                           "t5-base": t5_base}[args.arch]()
torch.manual_seed(0)
model = cls(config).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "layer_norm" in name or "layernorm" in name:
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.05 * torch.randn_like(p))
model.generation_config = generation
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT)
for folder in tokenizer_dirs:
    names = ["tokenizer.json"] if args.arch == "bart-large-cnn" else \
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
    for name in names:
        src = os.path.join(folder, name)
        if name == "tokenizer.json" or os.path.exists(src):
            shutil.copyfile(src, os.path.join(OUT, name))   # copyfile: the shared copies are read-only
print(OUT, sum(p.numel() for p in model.parameters()), "parameters")
