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
/// Activation rows brv_gemm takes in one sweep of the weights on `tier` (memory-bound up to there).
int brv_gemm_sweep_rows(int tier);

/// Packs x [m, k] into xpack (brv_gemm_pack_size floats) for brv_gemm; nothing when that size is 0.
void brv_gemm_pack(int tier, const float *x, ptrdiff_t m, ptrdiff_t k, float *xpack);

/// dst[i] = float(src[i]) for `count` elements of `wtype` (int8: times scales[i / BRV_I8_GROUP], the row's
/// group scales).
void brv_widen(int wtype, const void *src, const float *scales, float *dst, ptrdiff_t count);

/// y[i] = GELU(x[i]) = x/2 · (1 + erf(x/√2)) for n elements (x == y allowed), 8 lanes on AVX2 and up; an
/// element's result does not depend on its index or on n.
void brv_gelu(int tier, const float *x, float *y, ptrdiff_t n);

/// out[i] = (x[i] - max) - lse over n elements, lse = log(Σ exp(x - max)) (x == out allowed), the sum in double.
void brv_log_softmax(int tier, const float *x, float *out, ptrdiff_t n);

/// The two constants of brv_log_softmax over n elements: its out[i] is exactly (x[i] - *max) - *lse.
void brv_log_softmax_shift(int tier, const float *x, ptrdiff_t n, float *max, float *lse);

/// x[i] = exp(x[i] - max) / Σ exp(x - max) in place over n > 0 elements: the softmax of an attention score row,
/// computed as the decode kernel's (brv_attend_rows) softmax computes it on the same tier (exp.h's exp, a sum of
/// 8 lanes then the tail, times 1/sum).
void brv_softmax(int tier, float *x, ptrdiff_t n);

/// An entry of a top-k list: a value and its index (beam · V + token for beam search).
typedef struct {
    float value;
    int64_t index;
} brv_candidate;

/// Offers (value, index) to the top-k list top[0..<*count] (k entries at most, best first: the larger value,
/// then the lower index), which keeps the best k of everything offered whatever the order of the offers.
void brv_topk_offer(float value, int64_t index, brv_candidate *top, ptrdiff_t k, ptrdiff_t *count);

/// Offers base + ((x[t] - max) - lse) with index offset + t for every t in [0, n) not listed in skip (nskip
/// indices, ascending) to the list, as brv_topk_offer; the AVX2 tier compares 8 values with the k-th at a time.
/// With max = lse = base = 0 the values are the row's own.
void brv_topk_scan(int tier, const float *x, ptrdiff_t n, float max, float lse, float base, const int64_t *skip,
                   ptrdiff_t nskip, int64_t offset, brv_candidate *top, ptrdiff_t k, ptrdiff_t *count);

/// One query row against nk cached keys and values (a decode step's attention), heads h0..<h1 of width d:
/// out[h·d ..< (h+1)·d] = Σ_j p_hj · v[j·ld + h·d ...], p_h the softmax over j of scale · (q_h · k_jh)
/// (+ the head's relative position bias when bias is not NULL: bias[h·bias_stride + radius + clamp(j - position,
/// -radius, radius)], T5). q and out are the row (head h at h·d); key and value rows are ld floats apart;
/// scratch holds (h1 - h0)·nk floats. A head's result does not depend on h0, h1 or what else shares the step.
void brv_attend_row(int tier, const float *q, const float *k, const float *v, ptrdiff_t ld, ptrdiff_t nk,
                    ptrdiff_t d, ptrdiff_t h0, ptrdiff_t h1, float scale, const float *bias, ptrdiff_t bias_stride,
                    ptrdiff_t radius, ptrdiff_t position, float *out, float *scratch);

/// brv_attend_row for query rows rows[0..<nq] of q and out (rows `width` floats apart) over the same keys and
/// values (a text's beams in cross-attention): each key and value row is read once for all of them, and each
/// row's result is bit for bit what brv_attend_row gives it alone. scratch holds nq·(h1 - h0)·nk floats.
void brv_attend_rows(int tier, ptrdiff_t nq, const ptrdiff_t *rows, ptrdiff_t width, const float *q, const float *k,
                     const float *v, ptrdiff_t ld, ptrdiff_t nk, ptrdiff_t d, ptrdiff_t h0, ptrdiff_t h1, float scale,
                     const float *bias, ptrdiff_t bias_stride, ptrdiff_t radius, ptrdiff_t position, float *out,
                     float *scratch);

/// Blocks up to `mmapThreshold` bytes come from the heap and return to it (glibc's default, 128 KiB, maps and
/// zeroes fresh pages for every larger block); the heap is trimmed past `trimThreshold`. 0 when applied.
int brv_heap_tune(size_t mmapThreshold, size_t trimThreshold);

/// Scratch slots of brv_thread_scratch: the kernels' (gemm), and the callers' (packed activations, attention).
enum { BRV_SCRATCH_GEMM = 0, BRV_SCRATCH_PACK = 1, BRV_SCRATCH_ATTENTION = 2, BRV_SCRATCH_SLOTS = 3 };

/// A buffer of at least `bytes` (64-byte aligned) owned by the calling thread for `slot`, reused by its next
/// call with that slot (the contents are not kept when it grows) and freed when the thread ends: after the
/// first decode steps a step's products and attention take their scratch without allocating. NULL when
/// memory is short or the slot is unknown.
void *brv_thread_scratch(int slot, size_t bytes);

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
