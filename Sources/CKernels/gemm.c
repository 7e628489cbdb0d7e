// Skinny products y = x · wᵀ for decode steps: few activation rows (beams x inputs) against a large
// weight read once from memory. Bytes per weight decide the speed (docs/architecture.md §4), so weights stay
// in their stored type (f32, bf16, f16, int8 + per-row scale) and are widened to float32 in registers;
// accumulation is float32 FMA. One body per tier; every output of a tier is computed by the same
// sequence of instructions (edge blocks repeat a valid row instead of taking another path), which makes a
// row's result independent of how many rows share the call.

#include "brevity_kernels.h"
#include "simd.h"
#include <stdlib.h>
#include <string.h>

// MARK: - scalar conversions (portable tier, tails, brv_widen)

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {   // subnormal: normalize
            int e = -1;
            do { e++; mantissa <<= 1; } while ((mantissa & 0x400) == 0);
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (mantissa & 0x3FF) << 13;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000 | mantissa << 13;
    } else {
        bits = sign | (exponent - 15 + 127) << 23 | mantissa << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// Element i of a weight row (int8: scaled by its group's scale in `sc`, the row's scales).
static inline float scalar_w(int wtype, const void *w, const float *sc, ptrdiff_t i) {
    switch (wtype) {
    case BRV_W_BF16: return bf16_to_f32(((const uint16_t *)w)[i]);
    case BRV_W_F16: return f16_to_f32(((const uint16_t *)w)[i]);
    case BRV_W_I8: return (float)((const int8_t *)w)[i] * sc[i / BRV_I8_GROUP];
    default: return ((const float *)w)[i];
    }
}

static inline size_t wsize(int wtype) {
    return wtype == BRV_W_F32 ? 4 : wtype == BRV_W_I8 ? 1 : 2;
}

static inline const void *wrow(int wtype, const void *w, ptrdiff_t row, ptrdiff_t k) {
    return (const char *)w + (size_t)row * (size_t)k * wsize(wtype);
}

void brv_widen(int wtype, const void *src, const float *scales, float *dst, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) dst[i] = scalar_w(wtype, src, scales, i);
}

static inline ptrdiff_t groups(ptrdiff_t k) { return (k + BRV_I8_GROUP - 1) / BRV_I8_GROUP; }

/// Row `row`'s group scales (int8), else NULL.
static inline const float *srow(const float *scales, ptrdiff_t row, ptrdiff_t k) {
    return scales ? scales + row * groups(k) : NULL;
}

/// The output of one (activation row, weight row) pair: bias applied.
static inline float finish(float s, const float *bias, ptrdiff_t j) {
    if (bias) s += bias[j];
    return s;
}

// MARK: - portable tier: 8 partial sums per dot product

static void gemm_portable(int wtype, const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales,
                          const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) {
    for (ptrdiff_t j = j0; j < j1; j++) {
        const void *wj = wrow(wtype, w, j, k);
        const float *sj = srow(scales, j, k);
        for (ptrdiff_t r = 0; r < m; r++) {
            const float *xr = x + r * k;
            float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            ptrdiff_t i = 0;
            for (; i + 8 <= k; i += 8)
                for (int l = 0; l < 8; l++) part[l] += xr[i + l] * scalar_w(wtype, wj, sj, i + l);
            float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
            for (; i < k; i++) s += xr[i] * scalar_w(wtype, wj, sj, i);
            y[r * ldy + j] = finish(s, bias, j);
        }
    }
}

#if BRV_X86

/// While a block streams its NW weight rows, the same place in the next block's rows (NW rows on, contiguous)
/// is fetched into the cache: each row is one 4 KiB page in float32 (k = 1024), where the hardware prefetcher
/// stops, so without this every row starts with cold misses (float32 4-row decode products: 18.5 -> 28 GB/s on
/// two Zen 3 cores; int8 1 row: 10.5 -> 17 GB/s). Not for float32 with 1-2 activation rows, whose 4 row
/// streams the hardware keeps up with (there the prefetches cost ~5%). Prefetches never fault, so the last
/// block's reach past the weights is harmless.
static inline __attribute__((always_inline)) void prefetch_next(int wtype, const int NW, const void *const *wp,
                                                                ptrdiff_t i, ptrdiff_t k) {
    const ptrdiff_t ahead = (i + NW * k) * (ptrdiff_t)wsize(wtype);
    for (int a = 0; a < NW; a++) _mm_prefetch((const char *)wp[a] + ahead, _MM_HINT_T0);
}

// MARK: - AVX-512: 4 weight rows x 4 activation rows, 16 lanes, masked tails

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

/// 16 weights from element i of row p, widened (`mask` selects the tail's lanes).
static inline AVX512 __attribute__((always_inline)) __m512 w16(int wtype, const void *p, ptrdiff_t i, __mmask16 mask) {
    switch (wtype) {
    case BRV_W_BF16: {
        __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t *)p + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case BRV_W_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)p + i));
    case BRV_W_I8:
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, (const int8_t *)p + i)));
    default:
        return _mm512_maskz_loadu_ps(mask, (const float *)p + i);
    }
}

/// NW weight rows x NX activation rows per inner step (compile-time constants after inlining). Each output
/// gets its own accumulator and the same sequence of loads, widenings and FMAs whatever NW and NX are.
static inline AVX512 __attribute__((always_inline)) void
block_avx512(int wtype, const int NW, const int NX, const float *x, ptrdiff_t r, ptrdiff_t k, const void *w,
             const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j, ptrdiff_t nw, int stream) {
    const ptrdiff_t k16 = k & ~(ptrdiff_t)15;
    const __mmask16 tail = (__mmask16)((1u << (k - k16)) - 1);
    const void *wp[4];
    const float *sp[4];
    for (int a = 0; a < NW; a++) {
        wp[a] = wrow(wtype, w, j + (a < nw ? a : nw - 1), k);
        sp[a] = srow(scales, j + (a < nw ? a : nw - 1), k);
    }
    const float *xp[4];
    for (int b = 0; b < NX; b++) xp[b] = x + (r + b) * k;
    __m512 acc[4][4];
    for (int a = 0; a < NW; a++)
        for (int b = 0; b < NX; b++) acc[a][b] = _mm512_setzero_ps();
    // int8: group by group, each group's scales broadcast once (BRV_I8_GROUP is a multiple of 16)
    const ptrdiff_t span = wtype == BRV_W_I8 ? BRV_I8_GROUP : (k16 > 0 ? k16 : 1);
    for (ptrdiff_t g0 = 0; g0 < k16; g0 += span) {
        const ptrdiff_t gend = g0 + span < k16 ? g0 + span : k16;
        __m512 sc[4];
        if (wtype == BRV_W_I8)
            for (int a = 0; a < NW; a++) sc[a] = _mm512_set1_ps(sp[a][g0 / BRV_I8_GROUP]);
        for (ptrdiff_t i = g0; i < gend; i += 16) {
            __m512 v[4];
            for (int b = 0; b < NX; b++) v[b] = _mm512_loadu_ps(xp[b] + i);
            if (stream && (wtype != BRV_W_F32 || NX > 2)) prefetch_next(wtype, NW, wp, i, k);
            for (int a = 0; a < NW; a++) {
                __m512 q = w16(wtype, wp[a], i, 0xFFFF);
                if (wtype == BRV_W_I8) q = _mm512_mul_ps(q, sc[a]);
                for (int b = 0; b < NX; b++) acc[a][b] = _mm512_fmadd_ps(q, v[b], acc[a][b]);
            }
        }
    }
    if (tail) {
        __m512 v[4];
        for (int b = 0; b < NX; b++) v[b] = _mm512_maskz_loadu_ps(tail, xp[b] + k16);
        for (int a = 0; a < NW; a++) {
            __m512 q = w16(wtype, wp[a], k16, tail);
            if (wtype == BRV_W_I8) q = _mm512_mul_ps(q, _mm512_set1_ps(sp[a][k16 / BRV_I8_GROUP]));
            for (int b = 0; b < NX; b++) acc[a][b] = _mm512_fmadd_ps(q, v[b], acc[a][b]);
        }
    }
    for (int a = 0; a < NW && a < nw; a++)
        for (int b = 0; b < NX; b++)
            y[(r + b) * ldy + j + a] = finish(_mm512_reduce_add_ps(acc[a][b]), bias, j + a);
}

static inline AVX512 __attribute__((always_inline)) void
gemm_avx512_body(int wtype, const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales,
                 const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) {
    for (ptrdiff_t j = j0; j < j1; j += 4) {
        const ptrdiff_t nw = j1 - j < 4 ? j1 - j : 4;
        ptrdiff_t r = 0;
        for (; r + 4 <= m; r += 4) block_avx512(wtype, 4, 4, x, r, k, w, scales, bias, y, ldy, j, nw, r == 0);
        switch (m - r) {
        case 3: block_avx512(wtype, 4, 3, x, r, k, w, scales, bias, y, ldy, j, nw, r == 0); break;
        case 2: block_avx512(wtype, 4, 2, x, r, k, w, scales, bias, y, ldy, j, nw, r == 0); break;
        case 1: block_avx512(wtype, 4, 1, x, r, k, w, scales, bias, y, ldy, j, nw, r == 0); break;
        }
    }
}

#define AVX512_KERNEL(name, type) \
    static AVX512 void name(const float *x, const float *xpack, ptrdiff_t m, ptrdiff_t k, const void *w, \
                            const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, \
                            ptrdiff_t j1) { \
        (void)xpack; \
        gemm_avx512_body(type, x, m, k, w, scales, bias, y, ldy, j0, j1); \
    }
AVX512_KERNEL(gemm_avx512_f32, BRV_W_F32)
AVX512_KERNEL(gemm_avx512_bf16, BRV_W_BF16)
AVX512_KERNEL(gemm_avx512_f16, BRV_W_F16)
AVX512_KERNEL(gemm_avx512_i8, BRV_W_I8)

// MARK: - AVX2: 2 weight rows x 4 activation rows (16 ymm registers), 8 lanes, scalar tails

static inline AVX2 __attribute__((always_inline)) __m256 w8(int wtype, const void *p, ptrdiff_t i) {
    switch (wtype) {
    case BRV_W_BF16: {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    case BRV_W_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    case BRV_W_I8:
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)p + i))));
    default:
        return _mm256_loadu_ps((const float *)p + i);
    }
}

/// Activation rows one sweep of the weights takes (block_avx2 with one weight row: 7 accumulators, 7
/// activation vectors, the weight vector and an int8 scale in the 16 ymm registers). Measured on two Zen 1
/// cores, bart-large-cnn's float32 decoder pass for one text (`brevity bench replay --proposer oracle`):
/// 53 ms at 1 row, 62-64 ms at 2-4, then 73 / 80 / 94 ms at 5 / 6 / 7 rows in one sweep, where the packed
/// many-row path took 91 / 92 ms at 5 / 6 (and 122 ms at 9): what drafting adds to a pass.
#define AVX2_SWEEP 7

/// NW weight rows x NX activation rows per inner step (16 ymm registers: NW·NX + NX + 1 <= 16). Each
/// output's accumulator sees the same loads, widenings and FMAs whatever NW and NX are.
static inline AVX2 __attribute__((always_inline)) void
block_avx2(int wtype, const int NW, const int NX, const float *x, ptrdiff_t r, ptrdiff_t k, const void *w,
           const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j, ptrdiff_t nw) {
    const ptrdiff_t k8 = k & ~(ptrdiff_t)7;
    const void *wp[4];
    const float *sp[4];
    for (int a = 0; a < NW; a++) {
        wp[a] = wrow(wtype, w, j + (a < nw ? a : nw - 1), k);
        sp[a] = srow(scales, j + (a < nw ? a : nw - 1), k);
    }
    const float *xp[AVX2_SWEEP];
    for (int b = 0; b < NX; b++) xp[b] = x + (r + b) * k;
    __m256 acc[4][AVX2_SWEEP];
    for (int a = 0; a < NW; a++)
        for (int b = 0; b < NX; b++) acc[a][b] = _mm256_setzero_ps();
    // int8: group by group, each group's scales broadcast once (BRV_I8_GROUP is a multiple of 8)
    const ptrdiff_t span = wtype == BRV_W_I8 ? BRV_I8_GROUP : (k8 > 0 ? k8 : 1);
    for (ptrdiff_t g0 = 0; g0 < k8; g0 += span) {
        const ptrdiff_t gend = g0 + span < k8 ? g0 + span : k8;
        __m256 sc[4];
        if (wtype == BRV_W_I8)
            for (int a = 0; a < NW; a++) sc[a] = _mm256_set1_ps(sp[a][g0 / BRV_I8_GROUP]);
        for (ptrdiff_t i = g0; i < gend; i += 8) {
            __m256 v[AVX2_SWEEP];
            for (int b = 0; b < NX; b++) v[b] = _mm256_loadu_ps(xp[b] + i);
            if (wtype != BRV_W_F32 || NX > 2) prefetch_next(wtype, NW, wp, i, k);
            for (int a = 0; a < NW; a++) {
                __m256 q = w8(wtype, wp[a], i);
                if (wtype == BRV_W_I8) q = _mm256_mul_ps(q, sc[a]);
                for (int b = 0; b < NX; b++) acc[a][b] = _mm256_fmadd_ps(q, v[b], acc[a][b]);
            }
        }
    }
    for (int a = 0; a < NW && a < nw; a++)
        for (int b = 0; b < NX; b++) {
            float s = hsum8(acc[a][b]);
            for (ptrdiff_t i = k8; i < k; i++) s += xp[b][i] * scalar_w(wtype, wp[a], sp[a], i);
            y[(r + b) * ldy + j + a] = finish(s, bias, j + a);
        }
}

/// Weight rows per block by activation rows: more weight rows when fewer activation rows share them.
#define AVX2_ROWS(NX) ((NX) <= 2 ? 4 : (NX) == 3 ? 3 : (NX) == 4 ? 2 : 1)

/// Up to AVX2_SWEEP activation rows (r..<r+nx) against weight rows j..<j1 of `w`, streamed once.
static inline AVX2 __attribute__((always_inline)) void
group_avx2(int wtype, ptrdiff_t nx, const float *x, ptrdiff_t r, ptrdiff_t k, const void *w,
           const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j, ptrdiff_t j1) {
    const ptrdiff_t step = nx > 4 ? AVX2_ROWS(5) : nx == 4 ? AVX2_ROWS(4) : nx == 3 ? AVX2_ROWS(3) : AVX2_ROWS(1);
    for (; j < j1; j += step) {
        const ptrdiff_t nw = j1 - j < step ? j1 - j : step;
        switch (nx) {
        case 7: block_avx2(wtype, AVX2_ROWS(7), 7, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 6: block_avx2(wtype, AVX2_ROWS(6), 6, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 5: block_avx2(wtype, AVX2_ROWS(5), 5, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 4: block_avx2(wtype, AVX2_ROWS(4), 4, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 3: block_avx2(wtype, AVX2_ROWS(3), 3, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 2: block_avx2(wtype, AVX2_ROWS(2), 2, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        default: block_avx2(wtype, AVX2_ROWS(1), 1, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        }
    }
}

// MARK: - AVX2, more than 4 activation rows: packed blocks in L1

/// Floats of k per block of the many-row path: 3 activation rows (6 KiB) and 4 weight rows (8 KiB) per
/// partial product, the weight rows' slices staying in L1 and every activation row's slice in L2. Measured
/// (bart-large-cnn's step, 32 rows, two Zen 3 cores): 512 ~8% faster than 256 (the per-partial set-up and
/// accumulator reloads halve), 1024 and 2048 no better.
#define AVX2_KC 512

/// Length of the k-block starting at k0 (the last one may be shorter).
static inline ptrdiff_t kblock(ptrdiff_t k8, ptrdiff_t k0) { return k8 - k0 < AVX2_KC ? k8 - k0 : AVX2_KC; }

/// x [m, k] by k-block: block k0 at xpack + m·k0 holds [m][kn] (kn = kblock), k8 = k rounded down to 8.
static void pack_avx2(const float *x, ptrdiff_t m, ptrdiff_t k, float *xpack) {
    const ptrdiff_t k8 = k & ~(ptrdiff_t)7;
    for (ptrdiff_t k0 = 0; k0 < k8; k0 += AVX2_KC) {
        const ptrdiff_t kn = kblock(k8, k0);
        for (ptrdiff_t r = 0; r < m; r++) memcpy(xpack + m * k0 + r * kn, x + r * k + k0, sizeof(float) * (size_t)kn);
    }
}

/// The many-row path's blocks: 4 weight rows x 3 activation rows per inner step, weight rows 8 at a time.
enum { MANY_NW = 4, MANY_NX = 3, MANY_ROWS = 8 };

/// NW weight rows (nw real, the rest repeating the last) x NX activation rows over kn elements (a multiple of
/// 8) of blocks whose rows are ldw / ldx floats apart; the NW·NX vector accumulators are carried between
/// k-blocks in acc ([NW][MANY_NX][8], the first NX of each row's MANY_NX used). Each lane sees the FMAs
/// block_avx2 would give it, in the same order, so both paths (and every NX) give the same sums.
static inline AVX2 __attribute__((always_inline)) void
partial_avx2(const int NW, const int NX, const float *x, ptrdiff_t ldx, const float *w, ptrdiff_t ldw,
             ptrdiff_t nw, ptrdiff_t kn, float *acc, int first) {
    enum { LA = MANY_NX };   // the accumulators' row length
    const float *wp[4], *xp[4];
    for (int a = 0; a < NW; a++) wp[a] = w + (a < nw ? a : nw - 1) * ldw;
    for (int b = 0; b < NX; b++) xp[b] = x + b * ldx;
    __m256 s[4][4];
    for (int a = 0; a < NW; a++)
        for (int b = 0; b < NX; b++) s[a][b] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + (a * LA + b) * 8);
    for (ptrdiff_t i = 0; i < kn; i += 8) {
        __m256 v[4];
        for (int b = 0; b < NX; b++) v[b] = _mm256_loadu_ps(xp[b] + i);
        for (int a = 0; a < NW; a++) {
            const __m256 q = _mm256_loadu_ps(wp[a] + i);
            for (int b = 0; b < NX; b++) s[a][b] = _mm256_fmadd_ps(q, v[b], s[a][b]);
        }
    }
    for (int a = 0; a < NW; a++)
        for (int b = 0; b < NX; b++) _mm256_storeu_ps(acc + (a * LA + b) * 8, s[a][b]);
}

/// More than 4 activation rows:
/// - x comes packed by k-block (pack_avx2), so rows are kn floats apart instead of k: with k a multiple of
///   1024, every row's slice fell in the same L1 sets and evicted the others;
/// - weight rows 8 at a time; float32 rows are read in place, other types widened into wbuf by k-block once
///   for all activation groups; the next 8 rows (past j1 too: the next chunk) are prefetched a slice per
///   partial product, so the DRAM stream overlaps the arithmetic;
/// - per k-block, each 4 weight rows against every 3-row activation group: 12 accumulators, 7 loads per
///   12 FMAs (the 4 weight rows' slices stay in L1 while the activation groups stream from L2).
/// bart-large-cnn's step at 32 rows, two cores: 2 x 4 blocks, copied weights, k-blocks of 256 and halves
/// ~115-125 ms; this and 128-row chunks (SkinnyGEMM) ~102-105 ms (~140 GFLOP/s of ~200).
/// Outputs: hsum8 of the accumulators, then the scalar tail and the bias, as block_avx2 does.
static inline AVX2 __attribute__((always_inline)) void
gemm_avx2_many(int wtype, const float *x, const float *xpack, ptrdiff_t m, ptrdiff_t k, const void *w,
               const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1,
               float *wbuf, float *acc) {
    enum { NW = MANY_NW, NX = MANY_NX, ROWS = MANY_ROWS };
    const int inplace = wtype == BRV_W_F32;
    const ptrdiff_t k8 = k & ~(ptrdiff_t)7, groupsx = (m + NX - 1) / NX, blocks = (k8 + AVX2_KC - 1) / AVX2_KC;
    for (ptrdiff_t j = j0; j < j1; j += ROWS) {
        const ptrdiff_t nw = j1 - j < ROWS ? j1 - j : ROWS;
        // other types: rows j..<j+nw into wbuf, k-block k0 at wbuf + nw·k0 holding [nw][kn]
        for (ptrdiff_t a = 0; a < nw && !inplace; a++) {
            const void *wr = wrow(wtype, w, j + a, k);
            const float *sr = srow(scales, j + a, k);
            for (ptrdiff_t k0 = 0; k0 < k8; k0 += AVX2_KC) {
                const ptrdiff_t kn = kblock(k8, k0);
                float *out = wbuf + nw * k0 + a * kn;
                for (ptrdiff_t i = 0; i < kn; i += 8) {
                    __m256 q = w8(wtype, wr, k0 + i);
                    if (wtype == BRV_W_I8) q = _mm256_mul_ps(q, _mm256_set1_ps(sr[(k0 + i) / BRV_I8_GROUP]));
                    _mm256_storeu_ps(out + i, q);
                }
            }
        }
        // the next 8 rows, a slice of lines before each partial product (prefetches never fault: reaching
        // past the weights is harmless)
        const char *pf = (const char *)wrow(wtype, w, j + nw, k);
        const char *pfEnd = pf + ROWS * k * (ptrdiff_t)wsize(wtype);
        const ptrdiff_t calls = blocks * groupsx * ((nw + NW - 1) / NW);
        const ptrdiff_t slice = calls > 0 ? (((pfEnd - pf) / calls + 63) & ~(ptrdiff_t)63) : 0;
        for (ptrdiff_t k0 = 0; k0 < k8; k0 += AVX2_KC) {
            const ptrdiff_t kn = kblock(k8, k0);
            for (ptrdiff_t a = 0; a < nw; a += NW) {
                const float *wq = inplace ? (const float *)w + (j + a) * k + k0 : wbuf + nw * k0 + a * kn;
                const ptrdiff_t ldw = inplace ? k : kn;
                for (ptrdiff_t g = 0; g < groupsx; g++) {
                    const ptrdiff_t r = g * NX;
                    for (ptrdiff_t o = 0; o < slice && pf < pfEnd; o += 64, pf += 64) _mm_prefetch(pf, _MM_HINT_T0);
                    // the last group may hold 1 or 2 rows: a narrower block, not padding rows
                    const ptrdiff_t nx = m - r < NX ? m - r : NX, nwa = nw - a < NW ? nw - a : NW;
                    float *ga = acc + (g * ROWS + a) * NX * 8;
                    const float *gx = xpack + m * k0 + r * kn;
                    if (nx == 3) partial_avx2(NW, 3, gx, kn, wq, ldw, nwa, kn, ga, k0 == 0);
                    else if (nx == 2) partial_avx2(NW, 2, gx, kn, wq, ldw, nwa, kn, ga, k0 == 0);
                    else partial_avx2(NW, 1, gx, kn, wq, ldw, nwa, kn, ga, k0 == 0);
                }
            }
        }
        for (ptrdiff_t g = 0; g < groupsx; g++) {
            const ptrdiff_t r = g * NX, nx = m - r < NX ? m - r : NX;
            for (ptrdiff_t a = 0; a < nw; a++) {
                const void *wr = wrow(wtype, w, j + a, k);
                const float *sr = srow(scales, j + a, k);
                const float *quad = acc + (g * ROWS + a - a % NW) * NX * 8;
                for (ptrdiff_t b = 0; b < nx; b++) {
                    float s = hsum8(k8 > 0 ? _mm256_loadu_ps(quad + ((a % NW) * NX + b) * 8) : _mm256_setzero_ps());
                    for (ptrdiff_t i = k8; i < k; i++) s += x[(r + b) * k + i] * scalar_w(wtype, wr, sr, i);
                    y[(r + b) * ldy + j + a] = finish(s, bias, j + a);
                }
            }
        }
    }
}

/// Up to AVX2_SWEEP activation rows: one sweep over the weights, widened in registers (memory-bound). More rows:
/// gemm_avx2_many over x packed by the caller (brv_gemm_pack, shared by the chunks of a call) or here; its
/// scratch is the calling thread's (brv_thread_scratch: allocated by a thread's first products, then reused).
/// If that cannot grow, one sweep per 4 rows: slower, but the same sums bit for bit.
#define AVX2_KERNEL(name, type) \
    static AVX2 void name(const float *x, const float *xpack, ptrdiff_t m, ptrdiff_t k, const void *w, \
                          const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, \
                          ptrdiff_t j1) { \
        if (m <= AVX2_SWEEP) { group_avx2(type, m, x, 0, k, w, scales, bias, y, ldy, j0, j1); return; } \
        const size_t groupsx = (size_t)(m + MANY_NX - 1) / MANY_NX; \
        /* floats of each part, rounded to 64 bytes: accumulators, widened weights, packed x */ \
        const size_t nacc = (8 * MANY_ROWS * MANY_NX * groupsx + 15) & ~(size_t)15, \
                     nw = type == BRV_W_F32 ? 0 : (MANY_ROWS * (size_t)k + 15) & ~(size_t)15, \
                     nx = xpack ? 0 : (size_t)(m * k); \
        float *acc = brv_thread_scratch(BRV_SCRATCH_GEMM, sizeof(float) * (nacc + nw + nx)); \
        if (acc) { \
            float *wbuf = nw ? acc + nacc : NULL, *own = nx ? acc + nacc + nw : NULL; \
            if (own) pack_avx2(x, m, k, own); \
            gemm_avx2_many(type, x, xpack ? xpack : own, m, k, w, scales, bias, y, ldy, j0, j1, wbuf, acc); \
        } else { \
            for (ptrdiff_t r = 0; r < m; r += 4) \
                group_avx2(type, m - r < 4 ? m - r : 4, x, r, k, w, scales, bias, y, ldy, j0, j1); \
        } \
    }
AVX2_KERNEL(gemm_avx2_f32, BRV_W_F32)
AVX2_KERNEL(gemm_avx2_bf16, BRV_W_BF16)
AVX2_KERNEL(gemm_avx2_f16, BRV_W_F16)
AVX2_KERNEL(gemm_avx2_i8, BRV_W_I8)

int brv_cpu_tier(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return BRV_TIER_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return BRV_TIER_AVX2;
    return BRV_TIER_PORTABLE;
}

#else

int brv_cpu_tier(void) { return BRV_TIER_PORTABLE; }

#endif

typedef void (*gemm_fn)(const float *, const float *, ptrdiff_t, ptrdiff_t, const void *, const float *,
                        const float *, float *, ptrdiff_t, ptrdiff_t, ptrdiff_t);

int brv_gemm_sweep_rows(int tier) {
#if BRV_X86
    if (tier == BRV_TIER_AVX2) return AVX2_SWEEP;
#endif
    (void)tier;
    return 4;
}

size_t brv_gemm_pack_size(int tier, ptrdiff_t m, ptrdiff_t k) {
#if BRV_X86
    if (tier == BRV_TIER_AVX2 && m > AVX2_SWEEP && k > 0) return (size_t)m * (size_t)k;
#else
    (void)tier; (void)m; (void)k;
#endif
    return 0;
}

void brv_gemm_pack(int tier, const float *x, ptrdiff_t m, ptrdiff_t k, float *xpack) {
#if BRV_X86
    if (brv_gemm_pack_size(tier, m, k) > 0) pack_avx2(x, m, k, xpack);
#else
    (void)tier; (void)x; (void)m; (void)k; (void)xpack;
#endif
}

void brv_gemm(int tier, int wtype, const float *x, const float *xpack, ptrdiff_t m, ptrdiff_t k, const void *w,
              const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) {
    if (m <= 0 || j0 >= j1) return;
#if BRV_X86
    static const gemm_fn avx512[4] = {gemm_avx512_f32, gemm_avx512_bf16, gemm_avx512_f16, gemm_avx512_i8};
    static const gemm_fn avx2[4] = {gemm_avx2_f32, gemm_avx2_bf16, gemm_avx2_f16, gemm_avx2_i8};
    if (wtype >= 0 && wtype < 4) {
        if (tier >= BRV_TIER_AVX512) { avx512[wtype](x, xpack, m, k, w, scales, bias, y, ldy, j0, j1); return; }
        if (tier == BRV_TIER_AVX2) { avx2[wtype](x, xpack, m, k, w, scales, bias, y, ldy, j0, j1); return; }
    }
#else
    (void)tier; (void)xpack;
#endif
    gemm_portable(wtype, x, m, k, w, scales, bias, y, ldy, j0, j1);
}
