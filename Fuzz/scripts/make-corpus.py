#!/usr/bin/env python3
"""Writes Fuzz/corpus/<target>/, the committed seed corpus (from Tests/Fixtures and small inputs made
here), and Fuzz/dicts/<target>.dict, libFuzzer dictionaries of the keys and names the parsers look for.

Run from the repository root: python3 Fuzz/scripts/make-corpus.py. Python's standard library only. Seeds
are kept small (a few KB; libFuzzer's max_len defaults to the largest seed), so tokenizer.json fixtures are
cut down to their first vocabulary entries and the merges among them.
"""
import base64, collections, json, os, pickle, shutil, struct, sys, zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(ROOT, "Fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def requests():
    t = "The city council approved the new waterfront plan on Tuesday. Construction starts next spring."
    bodies = {
        "originals.json": {"texts": [t], "max_length": 60, "min_length": 10, "do_sample": False},
        "originals-sampling.json": {"texts": [t, "Zweiter Text, auf Deutsch."], "do_sample": True,
                                    "temperature": 0.7, "top_p": 0.9, "top_k": 50, "seed": 7},
        "originals-beams.json": {"texts": [t], "num_beams": 4, "length_penalty": 2.0, "no_repeat_ngram_size": 3,
                                 "early_stopping": True, "repetition_penalty": 1.2, "max_new_tokens": 40,
                                 "min_new_tokens": 5, "truncation": "chunk"},
        "hf-string.json": {"inputs": t},
        "hf-list.json": {"inputs": [t, "东京的天气很好。🌧️"], "parameters": {"max_length": 30, "min_length": 5,
                                                                  "truncation": "error"}},
        "extractive-num.json": {"texts": [t], "mode": "extractive", "num_sentences": 2},
        "extractive-ratio.json": {"inputs": [t], "parameters": {"mode": "extractive", "ratio": 0.5}},
        "stream.json": {"texts": [t], "stream": True, "mode": "abstractive", "truncation": "truncate"},
        "nulls.json": {"texts": [t], "max_length": None, "parameters": None, "mode": None, "ratio": None},
        "bad-min-max.json": {"texts": [t], "min_length": 50, "max_length": 10},
        "bad-types.json": {"texts": [t, 3], "num_beams": "four", "do_sample": 1, "temperature": -1},
        "empty-text.json": {"texts": [" \t\n"]},
    }
    for name, body in bodies.items():
        write("FuzzRequest", name, json.dumps(body, ensure_ascii=False))
    write("FuzzRequest", "escapes.json", r'{"texts": ["\u00e9\ud83e\udd16 \"q\" \\ \/ \b\f\n\r\t"], "max_length": 1e2}')
    write("FuzzRequest", "not-object.json", '["texts"]')


def shrink_tokenizer(j, n):
    m = j["model"]
    keep_ids = set(range(n)) | {t["id"] for t in j.get("added_tokens", [])}
    if m["type"] == "Unigram":
        m["vocab"] = m["vocab"][:n]
        if m.get("unk_id") is not None and m["unk_id"] >= n:
            m["unk_id"] = 0
    else:
        m["vocab"] = {k: v for k, v in m["vocab"].items() if v in keep_ids}
        if "merges" in m:
            kept = []
            for mg in m["merges"]:
                a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
                if a in m["vocab"] and b in m["vocab"] and (a + b) in m["vocab"]:
                    kept.append(mg)
            m["merges"] = kept
    return j


def shrink_charsmap(norm):
    """A Precompiled normalizer's charsmap cut to its trie's first 1024 units and 1 KB of replacements."""
    if not norm:
        return
    for n in norm.get("normalizers") or []:
        shrink_charsmap(n)
    if norm.get("type") == "Precompiled" and norm.get("precompiled_charsmap"):
        raw = base64.b64decode(norm["precompiled_charsmap"])
        size = struct.unpack("<I", raw[:4])[0]
        trie, strings = raw[4:4 + min(size, 4096)], raw[4 + size:4 + size + 1024]
        norm["precompiled_charsmap"] = base64.b64encode(struct.pack("<I", len(trie)) + trie + strings).decode()


def tokenizers():
    src = os.path.join(FIX, "tokenizers")
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name, "tokenizer.json")
        if not os.path.isfile(path):
            continue
        j = json.load(open(path, encoding="utf-8"))
        shrink_charsmap(j.get("normalizer"))
        n = 300 if j["model"]["type"] == "BPE" else 120
        data = json.dumps(shrink_tokenizer(j, n), ensure_ascii=False, separators=(",", ":"))
        write("FuzzTokenizerJSON", f"{name}.json", data)
    # truncation and padding, which no fixture sets
    j = json.load(open(os.path.join(src, "components-wordpiece", "tokenizer.json"), encoding="utf-8"))
    j = shrink_tokenizer(j, 80)
    j["truncation"] = {"direction": "Left", "max_length": 8, "strategy": "LongestFirst", "stride": 0}
    j["padding"] = {"strategy": {"Fixed": 12}, "direction": "Left", "pad_to_multiple_of": 4, "pad_id": 0,
                    "pad_type_id": 0, "pad_token": "[PAD]"}
    write("FuzzTokenizerJSON", "wordpiece-trunc-pad.json", json.dumps(j, separators=(",", ":")))
    mal = os.path.join(src, "malformed")
    for name in sorted(os.listdir(mal)):
        if name.endswith(".json") and name != "expected.json" and os.path.getsize(os.path.join(mal, name)) > 0:
            shutil.copy(os.path.join(mal, name), os.path.join(OUT, "FuzzTokenizerJSON", "malformed-" + name))
    shutil.copy(os.path.join(FIX, "summarizer-tiny", "tokenizer.json"),
                os.path.join(OUT, "FuzzTokenizerJSON", "summarizer-tiny.json"))


def safetensors(tensors, metadata=None, pad=True):
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    while pad and len(h) % 8:
        h += b" "
    return struct.pack("<Q", len(h)) + h + data


def f32(*v): return struct.pack(f"<{len(v)}f", *v)
def f16(*v): return struct.pack(f"<{len(v)}e", *v)
def bf16(*v): return b"".join(struct.pack("<f", x)[2:] for x in v)


def safetensor_seeds():
    w = "model.encoder.layers.0.self_attn.k_proj."
    write("FuzzSafetensors", "mixed.safetensors", safetensors([
        (w + "weight", "F32", [2, 3], f32(1, -2, 3.5, 0, 1e-3, 7)),
        (w + "bias", "F16", [4], f16(0.5, -1, 2, 65504)),
        ("model.shared.weight", "BF16", [2, 2], bf16(1, 2, -3, 0.25)),
    ], metadata={"format": "pt"}))
    write("FuzzSafetensors", "empty.safetensors", safetensors([]))
    write("FuzzSafetensors", "scalar.safetensors", safetensors([("s", "F32", [], f32(42))]))
    write("FuzzSafetensors", "zero-size.safetensors", safetensors([("z", "F16", [0, 4], b""), ("x", "F32", [1], f32(1))]))
    write("FuzzSafetensors", "other-dtypes.safetensors", safetensors([
        ("ids", "I64", [2], struct.pack("<2q", 1, -1)), ("mask", "BOOL", [3], b"\x01\x00\x01"),
        ("h", "F64", [1], struct.pack("<d", 0.5)), ("q", "F8_E4M3", [2], b"\x10\x20")]))
    write("FuzzSafetensors", "unpadded.safetensors", safetensors([("a", "F32", [1, 1, 2], f32(1, 2))], pad=False))


def zip_seeds():
    """Tests/Fixtures/hub's checkpoints (torch zips, hostile and malicious ones, one legacy file) and the
    data.pkl of each, for the unpickler."""
    hub = os.path.join(FIX, "hub")
    for name in sorted(os.listdir(hub)):
        path = os.path.join(hub, name)
        if not name.endswith(".bin"):
            continue
        write("FuzzZip", name, open(path, "rb").read())
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for entry in z.namelist():
                    if entry.endswith("data.pkl"):
                        write("FuzzUnpickler", name.replace(".bin", ".pkl"), z.read(entry))
        else:
            write("FuzzUnpickler", name.replace(".bin", ".pkl"), open(path, "rb").read())


def pickle_seeds():
    for proto in range(0, 6):
        d = collections.OrderedDict([("a", 1), ("b", [1.5, -2, None, True, False]), ("c", ("é", 2**40, -300, 70000))])
        if proto >= 3:
            d["d"] = b"\x00\xff" * 3   # bytes pickle as _codecs.encode calls before protocol 3
        write("FuzzUnpickler", f"plain-p{proto}.pkl", pickle.dumps(d, protocol=proto))
    shared = [1, 2]
    write("FuzzUnpickler", "memo.pkl", pickle.dumps({"x": shared, "y": shared, "z": {"w": shared}}, protocol=2))


JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '"', 'null', 'true', 'false', '-0', '1e308', '-1', '0.5', r'\u0000',
               r'\ud800', r'"\u00e9"']
DICTS = {
    "FuzzRequest": JSON_TOKENS + [f'"{k}"' for k in (
        "texts inputs parameters truncation mode stream num_sentences ratio truncate chunk error abstractive "
        "extractive num_beams max_length min_length max_new_tokens min_new_tokens length_penalty "
        "no_repeat_ngram_size early_stopping repetition_penalty do_sample temperature top_k top_p seed "
        "num_return_sequences").split()],
    "FuzzTokenizerJSON": JSON_TOKENS + [f'"{k}"' for k in (
        "BPE BPEDecoder BertNormalizer BertPreTokenizer BertProcessing ByteFallback ByteLevel Contiguous Digits "
        "Fixed Fuse Isolated Lowercase MergedWithNext MergedWithPrevious Metaspace NFC NFD NFKC NFKD Precompiled "
        "Prepend Punctuation Regex Removed Replace RobertaProcessing Sequence SpecialToken Split String Strip "
        "StripAccents TemplateProcessing Unigram Whitespace WhitespaceSplit WordLevel WordPiece BatchLongest "
        "Left Right first always never add_prefix_space added_tokens behavior byte_fallback clean_text cleanup "
        "content continuing_subword_prefix decoder decoders direction dropout end_of_word_suffix fuse_unk "
        "handle_chinese_chars id ids ignore_merges individual_digits invert lowercase lstrip "
        "max_input_chars_per_word max_length merges model normalized normalizer normalizers pad_id "
        "pad_to_multiple_of pad_token padding pattern post_processor pre_tokenizer precompiled_charsmap prefix "
        "prepend prepend_scheme pretokenizers processors replacement rstrip single pair single_word special "
        "special_tokens split start stop strategy strip_accents strip_left strip_right suffix tokens truncation "
        "type type_id unk_id unk_token use_regex vocab sep cls trim_offsets").split()],
    "FuzzSafetensors": JSON_TOKENS + [f'"{k}"' for k in (
        "dtype shape data_offsets __metadata__ F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL U16 U32 U64 F8_E4M3 "
        "F8_E5M2").split()] + [b"\0" * 8],
    "FuzzZip": [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07", b"\xff\xff\xff\xff",
                b"\x01\x00", "data.pkl", "archive/", "data/0", "byteorder", "little", "big"],
    "FuzzUnpickler": [b"\x80\x02", b"\x80\x05", "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch\nFloatStorage\n",
                      "ccollections\nOrderedDict\n", "storage", "cpu", "torch._utils", "_rebuild_tensor_v2",
                      "_rebuild_parameter", "HalfStorage", "BFloat16Storage", "LongStorage", "collections",
                      "OrderedDict", "torch"],
}


def dicts():
    d = os.path.join(ROOT, "Fuzz", "dicts")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for target, tokens in DICTS.items():
        with open(os.path.join(d, target + ".dict"), "w") as f:
            f.write(f"# libFuzzer dictionary for {target}, written by Fuzz/scripts/make-corpus.py\n")
            for i, t in enumerate(tokens):
                raw = t if isinstance(t, bytes) else t.encode()
                esc = "".join(chr(c) if 0x20 <= c < 0x7F and c not in b'\\"' else "\\x%02x" % c for c in raw)
                f.write(f'kw{i}="{esc}"\n')


if __name__ == "__main__":
    dicts()
    shutil.rmtree(OUT, ignore_errors=True)
    requests()
    tokenizers()
    safetensor_seeds()
    zip_seeds()
    pickle_seeds()
    total = 0
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        total += size
        print(f"{t}: {len(files)} files, {size} bytes")
    print(f"total {total} bytes")
