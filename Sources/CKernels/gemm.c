// Skinny products y = x · wᵀ for decode steps: few activation rows (beams x inputs) against a large
// weight read once from memory. Bytes per weight decide the speed (docs/architecture.md §4), so weights stay
// in their stored type (f32, bf16, f16, int8 + per-row scale) and are widened to float32 in registers;
// accumulation is float32 FMA. One body per tier; every output of a tier is computed by the same
// sequence of instructions (edge blocks repeat a valid row instead of taking another path), which makes a
// row's result independent of how many rows share the call.

#include "brevity_kernels.h"
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

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

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
             const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j, ptrdiff_t nw) {
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
        for (; r + 4 <= m; r += 4) block_avx512(wtype, 4, 4, x, r, k, w, scales, bias, y, ldy, j, nw);
        switch (m - r) {
        case 3: block_avx512(wtype, 4, 3, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 2: block_avx512(wtype, 4, 2, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        case 1: block_avx512(wtype, 4, 1, x, r, k, w, scales, bias, y, ldy, j, nw); break;
        }
    }
}

#define AVX512_KERNEL(name, type) \
    static AVX512 void name(const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales, \
                            const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) { \
        gemm_avx512_body(type, x, m, k, w, scales, bias, y, ldy, j0, j1); \
    }
AVX512_KERNEL(gemm_avx512_f32, BRV_W_F32)
AVX512_KERNEL(gemm_avx512_bf16, BRV_W_BF16)
AVX512_KERNEL(gemm_avx512_f16, BRV_W_F16)
AVX512_KERNEL(gemm_avx512_i8, BRV_W_I8)

// MARK: - AVX2: 2 weight rows x 4 activation rows (16 ymm registers), 8 lanes, scalar tails

#define AVX2 __attribute__((target("avx2,fma,f16c")))

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

static inline AVX2 __attribute__((always_inline)) float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// NW weight rows x NX activation rows per inner step (16 ymm registers: NW·NX + NX + 1 <= 16). Each
/// output's accumulator sees the same loads, widenings and FMAs whatever NW and NX are.
static inline AVX2 __attribute__((always_inline)) void
block_avx2(int wtype, const int NW, const int NX, const float *x, ptrdiff_t r, ptrdiff_t k, const void *w,
           ptrdiff_t wbase, const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j,
           ptrdiff_t nw) {
    const ptrdiff_t k8 = k & ~(ptrdiff_t)7;
    const void *wp[4];
    const float *sp[4];
    for (int a = 0; a < NW; a++) {
        wp[a] = wrow(wtype, w, j - wbase + (a < nw ? a : nw - 1), k);
        sp[a] = srow(scales, j + (a < nw ? a : nw - 1), k);
    }
    const float *xp[4];
    for (int b = 0; b < NX; b++) xp[b] = x + (r + b) * k;
    __m256 acc[4][4];
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
            __m256 v[4];
            for (int b = 0; b < NX; b++) v[b] = _mm256_loadu_ps(xp[b] + i);
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
#define AVX2_ROWS(NX) ((NX) <= 2 ? 4 : (NX) == 3 ? 3 : 2)

/// Weight rows j..<j+nw widened to float32 into `buf` ([nw, k]): the same floats the direct path makes in
/// registers (w8, times the group scale), so either path gives a row the same result.
static inline AVX2 __attribute__((always_inline)) void
widen_rows_avx2(int wtype, const void *w, const float *scales, ptrdiff_t j, ptrdiff_t nw, ptrdiff_t k, float *buf) {
    const ptrdiff_t k8 = k & ~(ptrdiff_t)7;
    for (ptrdiff_t a = 0; a < nw; a++) {
        const void *wr = wrow(wtype, w, j + a, k);
        const float *sr = srow(scales, j + a, k);
        float *out = buf + a * k;
        ptrdiff_t i = 0;
        for (; i < k8; i += 8) {
            __m256 q = w8(wtype, wr, i);
            if (wtype == BRV_W_I8) q = _mm256_mul_ps(q, _mm256_set1_ps(sr[i / BRV_I8_GROUP]));
            _mm256_storeu_ps(out + i, q);
        }
        for (; i < k; i++) out[i] = scalar_w(wtype, wr, sr, i);
    }
}

/// One activation-row group against weight rows j..<j+nw of `w` (row `wbase` at w's start).
static inline AVX2 __attribute__((always_inline)) void
group_avx2(int wtype, ptrdiff_t nx, const float *x, ptrdiff_t r, ptrdiff_t k, const void *w, ptrdiff_t wbase,
           const float *scales, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j, ptrdiff_t j1) {
    const ptrdiff_t step = nx == 4 ? AVX2_ROWS(4) : nx == 3 ? AVX2_ROWS(3) : AVX2_ROWS(1);
    for (; j < j1; j += step) {
        const ptrdiff_t nw = j1 - j < step ? j1 - j : step;
        switch (nx) {
        case 4: block_avx2(wtype, AVX2_ROWS(4), 4, x, r, k, w, wbase, scales, bias, y, ldy, j, nw); break;
        case 3: block_avx2(wtype, AVX2_ROWS(3), 3, x, r, k, w, wbase, scales, bias, y, ldy, j, nw); break;
        case 2: block_avx2(wtype, AVX2_ROWS(2), 2, x, r, k, w, wbase, scales, bias, y, ldy, j, nw); break;
        default: block_avx2(wtype, AVX2_ROWS(1), 1, x, r, k, w, wbase, scales, bias, y, ldy, j, nw); break;
        }
    }
}

/// Up to 4 activation rows: one sweep over the weights, widened in registers. More rows: weight rows 8 at a
/// time (widened once into an L1-resident buffer unless float32), every activation group against them
/// while they are in cache. Both compute each output with the same float operations in the same order.
static inline AVX2 __attribute__((always_inline)) void
gemm_avx2_body(int wtype, const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales,
               const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1, float *buf) {
    if (m <= 4) {
        group_avx2(wtype, m, x, 0, k, w, 0, scales, bias, y, ldy, j0, j1);
        return;
    }
    for (ptrdiff_t j = j0; j < j1; j += 8) {
        const ptrdiff_t nw = j1 - j < 8 ? j1 - j : 8;
        if (wtype != BRV_W_F32) widen_rows_avx2(wtype, w, scales, j, nw, k, buf);
        for (ptrdiff_t r = 0; r < m; r += 4) {
            const ptrdiff_t nx = m - r < 4 ? m - r : 4;
            if (wtype == BRV_W_F32) group_avx2(BRV_W_F32, nx, x, r, k, w, 0, NULL, bias, y, ldy, j, j + nw);
            else group_avx2(BRV_W_F32, nx, x, r, k, buf, j, NULL, bias, y, ldy, j, j + nw);
        }
    }
}

#define AVX2_KERNEL(name, type) \
    static AVX2 void name(const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales, \
                          const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) { \
        float *buf = m > 4 && type != BRV_W_F32 ? malloc(sizeof(float) * 8 * (size_t)k) : NULL; \
        if (m > 4 && type != BRV_W_F32 && !buf) { gemm_portable(type, x, m, k, w, scales, bias, y, ldy, j0, j1); return; } \
        gemm_avx2_body(type, x, m, k, w, scales, bias, y, ldy, j0, j1, buf); \
        free(buf); \
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

typedef void (*gemm_fn)(const float *, ptrdiff_t, ptrdiff_t, const void *, const float *, const float *, float *,
                        ptrdiff_t, ptrdiff_t, ptrdiff_t);

void brv_gemm(int tier, int wtype, const float *x, ptrdiff_t m, ptrdiff_t k, const void *w, const float *scales,
              const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t j0, ptrdiff_t j1) {
    if (m <= 0 || j0 >= j1) return;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    static const gemm_fn avx512[4] = {gemm_avx512_f32, gemm_avx512_bf16, gemm_avx512_f16, gemm_avx512_i8};
    static const gemm_fn avx2[4] = {gemm_avx2_f32, gemm_avx2_bf16, gemm_avx2_f16, gemm_avx2_i8};
    if (wtype >= 0 && wtype < 4) {
        if (tier >= BRV_TIER_AVX512) { avx512[wtype](x, m, k, w, scales, bias, y, ldy, j0, j1); return; }
        if (tier == BRV_TIER_AVX2) { avx2[wtype](x, m, k, w, scales, bias, y, ldy, j0, j1); return; }
    }
#else
    (void)tier;
#endif
    gemm_portable(wtype, x, m, k, w, scales, bias, y, ldy, j0, j1);
}
