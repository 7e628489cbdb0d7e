"""Cold start: seconds from process start to a served summary, Brevity against transformers, in one run.

Brevity: `brevity serve` launched, GET /ready polled every 10 ms (the service is ready once the model is
loaded and its warm-up generation has run), then one POST /summarize of the first news article. transformers:
a fresh Python process that imports transformers, loads the tokenizer and the model with from_pretrained
and summarizes the same article with the same settings. Each is run with the page cache cold (the model's
files evicted with posix_fadvise(DONTNEED), checked with fincore) and warm (just read), alternating, REPEAT
times; the medians are printed as one JSON line per system and cache state.

Usage: bench/coldstart/run.sh (MODEL, BIN, REPEAT, VENV)."""
import json, os, statistics, subprocess, sys, time, urllib.request

MODEL, BIN, NEWS, PY = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
REPEAT = int(os.environ.get("REPEAT", "3"))
PORT = int(os.environ.get("PORT", "8797"))
ARTICLE = json.loads(open(NEWS).readline())["article"]
PARAMS = {"num_beams": 4, "max_length": 60, "min_length": 10}


def files():
    return [os.path.join(MODEL, f) for f in sorted(os.listdir(MODEL)) if os.path.isfile(os.path.join(MODEL, f))]


def resident():
    """Bytes of the model's files in the page cache."""
    total = 0
    for f in files():
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", f], capture_output=True, text=True)
        total += int(out.stdout.strip() or 0)
    return total


def evict():
    for f in files():
        fd = os.open(f, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def warm():
    for f in files():
        with open(f, "rb") as h:
            while h.read(64 << 20):
                pass


def brevity():
    t0 = time.monotonic()
    p = subprocess.Popen([BIN, "serve", "--model", MODEL, "--port", str(PORT), "--host", "127.0.0.1", "--log-level", "error",
                          "--latency-target", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if p.poll() is not None:
                raise SystemExit("brevity serve exited: " + p.stderr.read().decode())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            time.sleep(0.01)
        ready = time.monotonic() - t0
        body = json.dumps({"texts": [ARTICLE], **PARAMS}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}/summarize", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            json.loads(r.read())
        return ready, time.monotonic() - t0
    finally:
        p.terminate()
        p.wait()


HF = r"""
import json, sys, time
t0 = time.monotonic()
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
torch.set_num_threads(int(sys.argv[3]))
tok = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1]).eval()
loaded = time.monotonic() - t0
ids = tok(sys.argv[2], truncation=True, max_length=1024, return_tensors="pt")
with torch.inference_mode():
    model.generate(**ids, num_beams=4, max_length=60, min_length=10)
print(json.dumps([loaded, time.monotonic() - t0]))
"""


def transformers():
    t0 = time.monotonic()
    out = subprocess.run([PY, "-c", HF, MODEL, ARTICLE, os.environ.get("THREADS", "2")], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("transformers failed: " + out.stderr[-2000:])
    loaded, first = json.loads(out.stdout.strip().splitlines()[-1])
    # from process start, as for Brevity: the interpreter's start and exit (total - first) count too
    total = time.monotonic() - t0
    return loaded + (total - first), total


results = {}
for run in range(REPEAT):
    for state in ["cold", "warm"]:
        for name, fn in [("brevity", brevity), ("transformers", transformers)]:
            (evict if state == "cold" else warm)()
            before = resident()
            ready, first = fn()
            results.setdefault((name, state), []).append((ready, first, before))
for (name, state), rows in sorted(results.items()):
    print(json.dumps({"system": name, "page_cache": state, "runs": len(rows),
                      "ready_s": round(statistics.median(r[0] for r in rows), 2),
                      "first_summary_s": round(statistics.median(r[1] for r in rows), 2),
                      "model_bytes_cached_at_start": max(r[2] for r in rows),
                      "model_bytes": sum(os.path.getsize(f) for f in files())}))
