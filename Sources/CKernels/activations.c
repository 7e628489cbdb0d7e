// Element-wise kernels of the decode step that libm made scalar: GELU (erf) over the FFN's activations and
// log-softmax (exp) over the vocabulary, 8 lanes at a time on AVX2. A bart-large-cnn 8 x beam 4 float32 profile
// had erff at 3.8% and log-softmax with expf at 3.5% of the time. Tails run through the same vector code
// (padded), so an element's result does not depend on its place in the array or how the array is split.

#include "brevity_kernels.h"
#include "exp.h"
#include "simd.h"
#include <math.h>
#include <string.h>

// erfc(z) for z >= 0 as t·exp(-z² + P(t)), t = 1 / (1 + z/2) (Numerical Recipes' erfcc, Chebyshev fit,
// fractional error < 1.2e-7 everywhere). GELU(x) = x/2 · erfc(-x/√2): for x < 0 that is the small erfc
// itself, which keeps GELU's negative tail accurate relative to its size (x/2 · (1 + erf(x/√2)) cancels
// there: 6.7% relative error at x = -5 with libm's erff, 2e-6 here; absolute error 4e-7 at most for both).
static const float ERFC_P[10] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                                 -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};
#define SQRT1_2 0.70710678118654752f

// MARK: - portable tier: the same formulas, one element at a time

static float gelu_scalar(float x) {
    const float z = fabsf(x) * SQRT1_2, t = 1.0f / fmaf(z, 0.5f, 1.0f);
    float p = ERFC_P[0];
    for (int i = 1; i < 10; i++) p = fmaf(p, t, ERFC_P[i]);
    const float e = t * exp_scalar(fmaf(-z, z, p));
    return 0.5f * x * (x >= 0 ? 2.0f - e : e);
}

static void gelu_portable(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = gelu_scalar(x[i]);
}

static void log_softmax_shift_portable(const float *x, ptrdiff_t n, float *max, float *lse) {
    float m = -INFINITY;
    for (ptrdiff_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    double sum = 0;
    for (ptrdiff_t i = 0; i < n; i++) sum += exp_scalar(x[i] - m);
    *max = m;
    *lse = (float)log(sum);
}

/// The portable tier's softmax, as attend_portable computes it.
static void softmax_portable(float *x, ptrdiff_t n) {
    float m = -INFINITY, sum = 0;
    for (ptrdiff_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (ptrdiff_t i = 0; i < n; i++) { x[i] = exp_scalar(x[i] - m); sum += x[i]; }
    const float inv = 1.0f / sum;
    for (ptrdiff_t i = 0; i < n; i++) x[i] *= inv;
}

#if BRV_X86

static inline AVX2 __attribute__((always_inline)) __m256 gelu8(__m256 x) {
    const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(SQRT1_2));
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(ERFC_P[0]);
    for (int i = 1; i < 10; i++) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERFC_P[i]));
    const __m256 e = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));   // erfc(|x|/√2)
    const __m256 positive = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    const __m256 c = _mm256_blendv_ps(e, _mm256_sub_ps(_mm256_set1_ps(2.0f), e), positive);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), c);
}

static AVX2 void gelu_avx2(const float *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float pad[8] = {0}, out[8];
        memcpy(pad, x + i, sizeof(float) * (size_t)(n - i));
        _mm256_storeu_ps(out, gelu8(_mm256_loadu_ps(pad)));
        memcpy(y + i, out, sizeof(float) * (size_t)(n - i));
    }
}

/// The largest of n elements: 8 lanes, then across them and the tail.
static inline AVX2 __attribute__((always_inline)) float max_avx2(const float *x, ptrdiff_t n) {
    const ptrdiff_t n8 = n & ~(ptrdiff_t)7;
    __m256 mv = _mm256_set1_ps(-INFINITY);
    for (ptrdiff_t i = 0; i < n8; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, mv);
    float m = -INFINITY;
    for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
    for (ptrdiff_t i = n8; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static AVX2 void log_softmax_shift_avx2(const float *x, ptrdiff_t n, float *max, float *lse) {
    const ptrdiff_t n8 = n & ~(ptrdiff_t)7;
    const float m = max_avx2(x, n);
    // Σ exp(x - m) in double, 8 lanes (two 4-lane halves), the tail padded with lanes that add 0
    const __m256 mb = _mm256_set1_ps(m);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (ptrdiff_t i = 0; i < n8; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    if (n8 < n) {
        float pad[8] = {0};
        memcpy(pad, x + n8, sizeof(float) * (size_t)(n - n8));
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - n8)), lane));
        const __m256 e = _mm256_and_ps(valid, exp8(_mm256_sub_ps(_mm256_loadu_ps(pad), mb)));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double parts[8];
    _mm256_storeu_pd(parts, lo);
    _mm256_storeu_pd(parts + 4, hi);
    const double sum = ((parts[0] + parts[1]) + (parts[2] + parts[3])) + ((parts[4] + parts[5]) + (parts[6] + parts[7]));
    *max = m;
    *lse = (float)log(sum);
}

/// The softmax of a score row (decode attention, attend_avx2, and the prefill's rows): the max, exp in 8 lanes
/// (the tail padded), the lane sum then the tail's, times 1/sum.
static AVX2 void softmax_avx2(float *p, ptrdiff_t n) {
    const ptrdiff_t n8 = n & ~(ptrdiff_t)7;
    const __m256 mb = _mm256_set1_ps(max_avx2(p, n));
    __m256 sv = _mm256_setzero_ps();
    for (ptrdiff_t i = 0; i < n8; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), mb));
        _mm256_storeu_ps(p + i, e);
        sv = _mm256_add_ps(sv, e);
    }
    float sum = hsum8(sv);
    if (n8 < n) {
        float pad[8] = {0};
        for (ptrdiff_t t = n8; t < n; t++) pad[t - n8] = p[t];
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(pad), mb));
        _mm256_storeu_ps(pad, e);
        for (ptrdiff_t t = n8; t < n; t++) { p[t] = pad[t - n8]; sum += pad[t - n8]; }
    }
    const float inv = 1.0f / sum;
    const __m256 iv = _mm256_set1_ps(inv);
    for (ptrdiff_t i = 0; i < n8; i += 8) _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), iv));
    for (ptrdiff_t i = n8; i < n; i++) p[i] *= inv;
}

/// out = (x - max) - lse, 8 lanes at a time.
static AVX2 void shift_avx2(const float *x, float *out, ptrdiff_t n, float max, float lse) {
    const ptrdiff_t n8 = n & ~(ptrdiff_t)7;
    const __m256 mb = _mm256_set1_ps(max), shift = _mm256_set1_ps(lse);
    for (ptrdiff_t i = 0; i < n8; i += 8)
        _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb), shift));
    for (ptrdiff_t i = n8; i < n; i++) out[i] = (x[i] - max) - lse;
}

#endif

void brv_gelu(int tier, const float *x, float *y, ptrdiff_t n) {
#if BRV_X86
    if (tier >= BRV_TIER_AVX2) { gelu_avx2(x, y, n); return; }
#else
    (void)tier;
#endif
    gelu_portable(x, y, n);
}

void brv_log_softmax_shift(int tier, const float *x, ptrdiff_t n, float *max, float *lse) {
    if (n <= 0) { *max = -INFINITY; *lse = -INFINITY; return; }
#if BRV_X86
    if (tier >= BRV_TIER_AVX2) { log_softmax_shift_avx2(x, n, max, lse); return; }
#else
    (void)tier;
#endif
    log_softmax_shift_portable(x, n, max, lse);
}

void brv_softmax(int tier, float *x, ptrdiff_t n) {
    if (n <= 0) return;
#if BRV_X86
    if (tier >= BRV_TIER_AVX2) { softmax_avx2(x, n); return; }
#else
    (void)tier;
#endif
    softmax_portable(x, n);
}

void brv_log_softmax(int tier, const float *x, float *out, ptrdiff_t n) {
    if (n <= 0) return;
    float max, lse;
    brv_log_softmax_shift(tier, x, n, &max, &lse);
#if BRV_X86
    if (tier >= BRV_TIER_AVX2) { shift_avx2(x, out, n, max, lse); return; }
#endif
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (x[i] - max) - lse;
}
