#!/usr/bin/env bash
# `make dist`: a self-contained tarball of a static release build (Swift's standard library and Foundation
# linked in), for machines without a Swift toolchain: bin/brevity (stripped; DT_RPATH $ORIGIN/../lib),
# lib/ with OpenBLAS and its Fortran runtime, oneDNN (libdnnl.so.2, opened at run time for the many-row products,
# docs/architecture.md §4) with its OpenMP and OpenCL loader libraries, VERSION. Usage: scripts/make-dist.sh BINARY OUTDIR
# Also copies the `hey` binary, when installed, to OUTDIR/tools/ for scripts/gpu-check.sh.
set -euo pipefail
BIN="$1"; OUTDIR="$2"
VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
NAME="brevity-$VERSION"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/$NAME/bin" "$STAGE/$NAME/lib" "$OUTDIR"
cp "$BIN" "$STAGE/$NAME/bin/brevity"
strip "$STAGE/$NAME/bin/brevity"
# the shared libraries that are neither glibc's nor everywhere (libstdc++, libgcc_s and zlib are)
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  path=$(ldd "$BIN" | awk -v l="$lib" '$1 == l {print $3}')
  [ -n "$path" ] || { echo "make-dist: $BIN does not link $lib as expected" >&2; exit 1; }
  cp -L "$path" "$STAGE/$NAME/lib/$lib"
done
# LIBRARY's own shared libraries that are neither glibc's nor everywhere, into lib/ (each once)
copy_needs() {
  for extra in $(ldd "$1" | awk '$3 ~ /^\// {print $1}'); do
    case "$extra" in libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libgcc_s.so*|libstdc++.so*) ;;
      *) [ -f "$STAGE/$NAME/lib/$extra" ] || cp -L "$(ldd "$1" | awk -v l="$extra" '$1 == l {print $3}')" "$STAGE/$NAME/lib/";;
    esac
  done
}
# libopenblas.so.0 may be a Debian alternatives link to a variant that needs its own libraries
copy_needs "$STAGE/$NAME/lib/libopenblas.so.0"
# oneDNN is not linked (the binary dlopens ../lib/libdnnl.so.2 first): Debian's libdnnl2, from `make deps`
DNNL=$(ldconfig -p | awk '$1 == "libdnnl.so.2" && $NF ~ /^\// {print $NF; exit}')
[ -n "$DNNL" ] || { echo "make-dist: libdnnl.so.2 not found (make deps installs libdnnl-dev)" >&2; exit 1; }
cp -L "$DNNL" "$STAGE/$NAME/lib/libdnnl.so.2"
copy_needs "$DNNL"
GLIBC=$(for f in "$BIN" "$STAGE/$NAME"/lib/*; do objdump -T "$f" 2>/dev/null; done | grep -o 'GLIBC_[0-9.]*' | sort -t. -k2,2n -k3,3n -u | tail -1)
printf '%s\nneeds %s or newer (glibc), x86_64\n' "$VERSION" "${GLIBC/_/ }" > "$STAGE/$NAME/VERSION"
# the binary must find lib/ by itself, for OpenBLAS's own dependencies too (DT_RPATH, not RUNPATH)
# (ldd's output held first: `ldd | grep -q` under pipefail fails when grep stops reading early)
LINKED=$(LD_LIBRARY_PATH= ldd "$STAGE/$NAME/bin/brevity")
if grep -q "not found" <<< "$LINKED"; then echo "$LINKED"; echo "make-dist: unresolved libraries" >&2; exit 1; fi
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  grep -qF "$lib => $STAGE/$NAME/bin/../lib/$lib" <<< "$LINKED" \
    || { echo "$LINKED"; echo "make-dist: $lib is not taken from lib/" >&2; exit 1; }
done
"$STAGE/$NAME/bin/brevity" --help >/dev/null
# the tarball's own oneDNN opens, with its libraries found from lib/ (an empty LD_LIBRARY_PATH)
ONEDNN=$(LD_LIBRARY_PATH= "$STAGE/$NAME/bin/brevity" cpu-check --tier portable | grep '^onednn: ')
case "$ONEDNN" in "onednn: oneDNN "*" from $(realpath "$STAGE/$NAME/lib")/libdnnl.so.2") ;;
  *) echo "make-dist: the tarball's oneDNN did not open: $ONEDNN" >&2; exit 1;; esac
TAR="$OUTDIR/$NAME-linux-x86_64.tar.xz"
tar -C "$STAGE" -cJf "$TAR" "$NAME"
if command -v hey >/dev/null; then mkdir -p "$OUTDIR/tools" && cp "$(command -v hey)" "$OUTDIR/tools/hey"; fi
SIZE=$(stat -c %s "$TAR")
echo "$TAR: $((SIZE / 1024 / 1024)) MiB ($(du -sh "$STAGE/$NAME" | cut -f1) unpacked), needs ${GLIBC/_/ }"
[ "$SIZE" -lt $((64 * 1024 * 1024)) ] || { echo "make-dist: past 64 MiB" >&2; exit 1; }
