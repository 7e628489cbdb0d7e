// Innermost CPU kernels of the engine (C: the SIMD intrinsics and per-function target attributes Swift
// lacks). Selected at run time by CPU features, so one binary runs on any x86-64 (and elsewhere, the
// portable tier). Callers (Sources/Tensor/CPUKernels.swift) split the work over threads.
#ifndef BREVITY_KERNELS_H
#define BREVITY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Instruction-set tiers, lowest first.
enum {
    BRV_TIER_PORTABLE = 0,   // plain C
    BRV_TIER_AVX2 = 1,       // AVX2 + FMA + F16C
    BRV_TIER_AVX512 = 2,     // AVX-512 F/BW/VL
};

/// Weight element types of the products (the Swift `DType` cases with the same meaning).
enum {
    BRV_W_F32 = 0,
    BRV_W_BF16 = 1,
    BRV_W_F16 = 2,
    BRV_W_I8 = 3,            // symmetric int8, one float scale per group of BRV_I8_GROUP weights of a row
};

/// int8 weights share a scale per this many consecutive elements of a row (the last group may be shorter).
#define BRV_I8_GROUP 64

/// The highest tier this CPU (and OS) supports.
int brv_cpu_tier(void);

/// Decode-shaped product over weight rows j in [j0, j1):
///   y[r * ldy + j] = Σ_i x[r * k + i] · w[j * k + i] + bias[j]     for r in [0, m)
/// x: [m, k] float32; w: [n, k] of `wtype` (row stride k elements); scales (int8 only, else NULL):
/// [n, ceil(k / BRV_I8_GROUP)], element i of row j being w[j, i] · scales[j, i / BRV_I8_GROUP];
/// bias: [n] or NULL; xpack: x as brv_gemm_pack laid it out (shared by the calls that split one product's
/// rows), or NULL (packed here when the tier needs it). Weight rows are read once for all m activation rows.
/// Each output is computed by the same instruction sequence whatever m, j0, j1 and the row's place in its
/// group are, so a row's result does not depend on the batch it shares.
void brv_gemm(int tier, int wtype, const float *x, const float *xpack, ptrdiff_t m, ptrdiff_t k, const void *w,
              const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1);

/// Floats of the packed activations brv_gemm's `tier` uses for m rows of k (0: it packs nothing).
size_t brv_gemm_pack_size(int tier, ptrdiff_t m, ptrdiff_t k);

/// Packs x [m, k] into xpack (brv_gemm_pack_size floats) for brv_gemm; nothing when that size is 0.
void brv_gemm_pack(int tier, const float *x, ptrdiff_t m, ptrdiff_t k, float *xpack);

/// dst[i] = float(src[i]) for `count` elements of `wtype` (int8: times scales[i / BRV_I8_GROUP], the row's
/// group scales).
void brv_widen(int wtype, const void *src, const float *scales, float *dst, ptrdiff_t count);

/// y[i] = GELU(x[i]) = x/2 · (1 + erf(x/√2)) for n elements (x == y allowed), 8 lanes on AVX2 and up; an
/// element's result does not depend on its index or on n.
void brv_gelu(int tier, const float *x, float *y, ptrdiff_t n);

/// out[i] = x[i] - max - log(Σ exp(x - max)) over n elements (x == out allowed), the sum in double.
void brv_log_softmax(int tier, const float *x, float *out, ptrdiff_t n);

/// Blocks up to `mmapThreshold` bytes come from the heap and return to it (glibc's default, 128 KiB, maps and
/// zeroes fresh pages for every larger block); the heap is trimmed past `trimThreshold`. 0 when applied.
int brv_heap_tune(size_t mmapThreshold, size_t trimThreshold);

/// A task of brv_parallel: runs index `index` of a job (ctx: the caller's).
typedef void (*brv_task)(void *ctx, ptrdiff_t index);

/// Runs fn(ctx, i) once for every i in [0, count), on the calling thread and the engine's workers (one per
/// core besides the caller, started on first use; idle workers spin ~0.2 ms before they sleep, as many as
/// the last job could use); returns when all have run. One job at a time: a call made while another runs
/// (from another thread, or from inside a task) runs its indices on the calling thread.
void brv_parallel(ptrdiff_t count, brv_task fn, void *ctx);

/// The number of worker threads besides the caller: brv_cpu_count() - 1.
int brv_pool_workers(void);

/// The cores this process may use: its CPU affinity (taskset, a cpuset), capped by a cgroup CPU quota
/// (`docker --cpus`, a Kubernetes CPU limit) rounded up; at least 1.
int brv_cpu_count(void);

#endif
