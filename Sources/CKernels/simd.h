// What the kernel files share about x86 SIMD (private to CKernels): whether this build can target it, the AVX2
// function attribute and a lane sum. Functions carrying a target attribute run only after brv_cpu_tier said the CPU has it.
#ifndef BREVITY_SIMD_H
#define BREVITY_SIMD_H

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BRV_X86 1
#include <immintrin.h>
/// AVX2 with FMA and F16C (the `avx2` tier).
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/// The sum of a vector's 8 lanes, in a fixed order: (l0+l4 + l2+l6) + (l1+l5 + l3+l7).
static inline AVX2 __attribute__((always_inline)) float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#else
#define BRV_X86 0
#endif

#endif
