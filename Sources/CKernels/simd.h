// What the kernel files share about x86 SIMD (private to CKernels): whether this build can target it, and the
// AVX2 function attribute. Functions carrying a target attribute run only after brv_cpu_tier said the CPU has it.
#ifndef BREVITY_SIMD_H
#define BREVITY_SIMD_H

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BRV_X86 1
#include <immintrin.h>
/// AVX2 with FMA and F16C (the `avx2` tier).
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define BRV_X86 0
#endif

#endif
