#!/usr/bin/env python3
"""CUDA against the CPU and transformers on the committed fixtures (scripts/gpu-check.sh, step 2).

For every setting of Tests/Fixtures/summarizer-tiny/expected.json (token ids from transformers float32):
`brevity summarize` on the CPU (float32), then on the GPU in float32, float16 and bfloat16. float32 on the
GPU must give the CPU's ids exactly (and transformers'); float16/bfloat16 are reported as the share of
identical outputs, each differing output with the first position where it departs.
Usage: compare.py BREVITY_BINARY  -> prints one markdown table, exits 1 when float32 differs.
"""
import json
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
FIXTURE = "Tests/Fixtures/summarizer-tiny"
expected = json.load(open(f"{FIXTURE}/expected.json"))
texts = expected["texts"]


def run(device, dtype, params):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
        f.flush()
        r = subprocess.run([BIN, "summarize", "--model", FIXTURE, "--device", device, "--dtype", dtype,
                            "--params", json.dumps(params)], stdin=open(f.name), capture_output=True, text=True,
                           timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"summarize --device {device} --dtype {dtype} failed:\n{r.stderr}")
    return [json.loads(line)["token_ids"] for line in r.stdout.splitlines()]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


failed = False
rows = ["| setting | dtype | equal to CPU | equal to transformers fp32 | first departures |", "| --- | --- | --- | --- | --- |"]
for name, setting in expected["settings"].items():
    reference = [o["token_ids"] for o in setting["outputs"]]
    cpu = run("cpu", "float32", setting["params"])
    if cpu != reference:
        print(f"warning: CPU float32 differs from the fixture in setting {name}", file=sys.stderr)
    for dtype in ["float32", "float16", "bfloat16"]:
        gpu = run("cuda", dtype, setting["params"])
        same_cpu = sum(a == b for a, b in zip(gpu, cpu))
        same_ref = sum(a == b for a, b in zip(gpu, reference))
        departures = [f"#{i} at {first_difference(a, b)}" for i, (a, b) in enumerate(zip(gpu, cpu)) if a != b]
        if dtype == "float32" and same_cpu != len(cpu):
            failed = True
        rows.append(f"| {name} | {dtype} | {same_cpu}/{len(cpu)} | {same_ref}/{len(reference)} | {', '.join(departures[:6]) or '-'} |")
print("\n".join(rows))
sys.exit(1 if failed else 0)
