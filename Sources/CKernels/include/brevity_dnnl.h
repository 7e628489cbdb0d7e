// oneDNN (Debian's libdnnl.so.2, 2.x) for the compute-bound products: opened with dlopen on first use, so the
// binary builds and runs without it (OpenBLAS and the C kernels then do the work). oneDNN picks its kernels by
// the CPU's feature flags (AVX2, AVX-512, AVX512-BF16, VNNI, AMX), never by model number.
#ifndef BREVITY_DNNL_H
#define BREVITY_DNNL_H

#include <stddef.h>
#include <stdint.h>

/// Opens oneDNN once (later calls return the first answer): `path` when not NULL, else libdnnl.so.2 in ../lib/
/// of the executable's folder (make dist's tarball), in lib/ or beside it, or the system's. Before it opens,
/// OMP_NUM_THREADS is set to `threads` unless the environment sets it (oneDNN's OpenMP threads then match the
/// engine's pool). 0 when loaded; -1 with the reason in `error` (never built against the headers, no library, a
/// missing symbol, no CPU engine).
int brv_dnnl_load(const char *path, int threads, char *error, size_t error_size);

/// The instruction set oneDNN dispatches to once loaded ("avx2", "avx512_core_amx", ...), else "none".
const char *brv_dnnl_isa(void);

/// The version of the library opened ("2.6.3"), else "".
const char *brv_dnnl_version(void);

/// The file the library was opened from, links resolved (make dist's lib/libdnnl.so.2.6, the system's), else "".
const char *brv_dnnl_file(void);

/// Product element types: float32 activations and weights; bfloat16 activations and weights (float32 out);
/// int8: activations s8 quantized per row (scale xs[r]) against s8 weights with one scale per output (ws[j]).
enum { BRV_MM_F32 = 0, BRV_MM_BF16 = 1, BRV_MM_S8 = 2 };

/// y[r * ldy + j] = Σ_i x[r, i] · w[j, i] (· xs[r] · ws[j] for S8) + bias[j], r < m, j < n: x [m, k] (rows k
/// apart) of the type's activations, w [n, k] row-major (as a checkpoint holds it), bias [n] float32 or NULL,
/// y float32. Computed as oneDNN matmuls of a fixed number of rows (the tile; the last one through zero-padded
/// scratch with the same strides), so every row of a shape goes through one primitive whatever m is. The tile
/// is chosen at the shape's first call, the largest of 192, 128, 96, 64, 32 and 16 whose primitive gives the
/// first row of x the same result in every place of the tile; when none does, the shape is refused for good (a
/// row would depend on its batch). Called from one thread at a time per process (a lock serialises callers;
/// oneDNN spreads each call over its own threads). 0 on success; -1 when oneDNN is not loaded or refuses the
/// shape or type, -2 when the shape's rows are not computed alike (nothing usable written in either case).
int brv_dnnl_matmul(int type, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const void *x, const void *w,
                    const float *xs, const float *ws, const float *bias, float *y, ptrdiff_t ldy);

/// Shapes refused so far because a tile's rows were not computed alike.
int brv_dnnl_variant_shapes(void);

/// Products computed by brv_dnnl_matmul so far.
long brv_dnnl_products(void);

/// Whether oneDNN implements `type` on this CPU (a primitive of 16 x 16 x 64 can be made): bf16 and int8 need
/// AVX-512 or AVX2-VNNI class hardware in oneDNN 2.6, float32 runs everywhere.
int brv_dnnl_supports(int type);

#endif
