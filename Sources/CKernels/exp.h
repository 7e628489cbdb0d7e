// exp for the kernels that need it (private to CKernels): one formula on every tier, so a value's exp does not
// depend on the tier's lane count or on where the element sits.
#ifndef BREVITY_EXP_H
#define BREVITY_EXP_H

#include "simd.h"
#include <math.h>

// exp: Cephes' expf reduction and polynomial (x = n·ln2 + r, |r| <= ln2/2; e^r by a degree-6 polynomial),
// within 2 ulp of exp over the float range (measured against double exp); inputs clamped to [-87.34, 88.72].
#define EXP_LO -87.33654f
#define EXP_HI 88.72283f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
static const float EXP_P[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                               4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

static inline float exp_scalar(float x) {
    x = x < EXP_LO ? EXP_LO : x > EXP_HI ? EXP_HI : x;
    const float n = nearbyintf(x * LOG2E);
    float r = fmaf(-n, LN2_HI, x);
    r = fmaf(-n, LN2_LO, r);
    float y = EXP_P[0];
    for (int i = 1; i < 6; i++) y = fmaf(y, r, EXP_P[i]);
    y = fmaf(y, r * r, r + 1.0f);
    return ldexpf(y, (int)n);
}

#if BRV_X86

static inline AVX2 __attribute__((always_inline)) __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 y = _mm256_set1_ps(EXP_P[0]);
    for (int i = 1; i < 6; i++) y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P[i]));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n: n in [-126, 128) after the clamp
    const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(scale));
}

#endif

#endif
