// Attention of one query row over its KV cache, the decode step's shape: scores, softmax and the weighted sum
// of values in one call for a range of heads. Each cached key and value row is read once, front to back, for
// all the heads (the hardware prefetchers follow that stream; one head at a time reads 256 bytes every 4 KiB).
// Through BLAS this was a gemv, a scaling pass and a second gemv per (row, head): 16 heads x 32 rows x 24
// attention blocks a step for bart-large-cnn at 8 x beam 4, each gemv's fixed cost above its 4K multiply-adds.
// Each head's arithmetic is the same whatever range of heads or rows shares the call. Query rows over the same
// keys (a text's beams in cross-attention) go in one call, which reads each key and value row once for all of
// them: at 8 texts x beam 4 over articles, cross-attention read every text's keys and values four times a step.

#include "brevity_kernels.h"
#include "exp.h"
#include "simd.h"

/// The head's relative position bias for key j seen from `position` (T5): bias[clamp(j - position, ±radius)].
static inline float relative_bias(const float *bias, ptrdiff_t radius, ptrdiff_t j, ptrdiff_t position) {
    const ptrdiff_t r = j - position;
    return bias[r < -radius ? -radius : r > radius ? radius : r];
}

static void attend_portable(const float *q, const float *k, const float *v, ptrdiff_t ld, ptrdiff_t nk, ptrdiff_t d,
                            ptrdiff_t h0, ptrdiff_t h1, float scale, const float *bias, ptrdiff_t bias_stride,
                            ptrdiff_t radius, ptrdiff_t position, float *out, float *scratch) {
    for (ptrdiff_t h = h0; h < h1; h++) {
        float *p = scratch + (h - h0) * nk, m = -INFINITY;
        const float *qh = q + h * d;
        for (ptrdiff_t j = 0; j < nk; j++) {
            float s = 0;
            for (ptrdiff_t i = 0; i < d; i++) s += qh[i] * k[j * ld + h * d + i];
            s *= scale;
            if (bias) s += relative_bias(bias + h * bias_stride + radius, radius, j, position);
            p[j] = s;
            m = s > m ? s : m;
        }
        float sum = 0;
        for (ptrdiff_t j = 0; j < nk; j++) { p[j] = exp_scalar(p[j] - m); sum += p[j]; }
        const float inv = 1.0f / sum;
        float *o = out + h * d;
        for (ptrdiff_t i = 0; i < d; i++) o[i] = 0;
        for (ptrdiff_t j = 0; j < nk; j++) {
            const float w = p[j] * inv;
            for (ptrdiff_t i = 0; i < d; i++) o[i] += w * v[j * ld + h * d + i];
        }
    }
}

#if BRV_X86

/// d a multiple of 8. Query rows rows[0..<nq] (of q and out, `width` floats apart) over the same keys and
/// values: each key and value row is read once for all of them, while every row's arithmetic (loads, FMA
/// order, lane sums, softmax, weighted sum) is the one it gets alone. scratch: nq·(h1 - h0)·nk floats.
static AVX2 void attend_avx2(ptrdiff_t nq, const ptrdiff_t *rows, ptrdiff_t width, const float *q, const float *k,
                             const float *v, ptrdiff_t ld, ptrdiff_t nk, ptrdiff_t d, ptrdiff_t h0, ptrdiff_t h1,
                             float scale, const float *bias, ptrdiff_t bias_stride, ptrdiff_t radius,
                             ptrdiff_t position, float *out, float *scratch) {
    const ptrdiff_t per = (h1 - h0) * nk;   // one row's scores
    // scores, key row by key row: each head's 8-lane partial dot products summed across lanes
    for (ptrdiff_t j = 0; j < nk; j++) {
        const float *kj = k + j * ld;
        for (ptrdiff_t h = h0; h < h1; h++) {
            const float *kh = kj + h * d;
            const float b = bias ? relative_bias(bias + h * bias_stride + radius, radius, j, position) : 0;
            for (ptrdiff_t r = 0; r < nq; r++) {
                const float *qh = q + rows[r] * width + h * d;
                __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                ptrdiff_t i = 0;
                for (; i + 16 <= d; i += 16) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + i), _mm256_loadu_ps(kh + i), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + i + 8), _mm256_loadu_ps(kh + i + 8), a1);
                }
                if (i < d) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + i), _mm256_loadu_ps(kh + i), a0);
                float s = hsum8(_mm256_add_ps(a0, a1)) * scale;
                if (bias) s += b;
                scratch[r * per + (h - h0) * nk + j] = s;
            }
        }
    }
    // softmax per row and head (brv_softmax: exp in 8 lanes, the tail padded, the sum over lanes, p scaled by
    // 1/sum; the prefill's attention rows take the same)
    for (ptrdiff_t r = 0; r < nq; r++)
        for (ptrdiff_t h = h0; h < h1; h++) {
            brv_softmax(BRV_TIER_AVX2, scratch + r * per + (h - h0) * nk, nk);
            float *o = out + rows[r] * width + h * d;
            for (ptrdiff_t i = 0; i < d; i += 8) _mm256_storeu_ps(o + i, _mm256_setzero_ps());
        }
    // out_h += p_hj · v_jh, value row by value row (the outputs stay in L1)
    for (ptrdiff_t j = 0; j < nk; j++) {
        const float *vj = v + j * ld;
        for (ptrdiff_t h = h0; h < h1; h++) {
            const float *vh = vj + h * d;
            for (ptrdiff_t r = 0; r < nq; r++) {
                const __m256 w = _mm256_set1_ps(scratch[r * per + (h - h0) * nk + j]);
                float *o = out + rows[r] * width + h * d;
                for (ptrdiff_t i = 0; i < d; i += 8)
                    _mm256_storeu_ps(o + i, _mm256_fmadd_ps(w, _mm256_loadu_ps(vh + i), _mm256_loadu_ps(o + i)));
            }
        }
    }
}

#endif

void brv_attend_rows(int tier, ptrdiff_t nq, const ptrdiff_t *rows, ptrdiff_t width, const float *q, const float *k,
                     const float *v, ptrdiff_t ld, ptrdiff_t nk, ptrdiff_t d, ptrdiff_t h0, ptrdiff_t h1, float scale,
                     const float *bias, ptrdiff_t bias_stride, ptrdiff_t radius, ptrdiff_t position, float *out,
                     float *scratch) {
    if (d <= 0 || h0 >= h1 || nq <= 0) return;
    if (nk <= 0) {
        for (ptrdiff_t r = 0; r < nq; r++)
            for (ptrdiff_t i = h0 * d; i < h1 * d; i++) out[rows[r] * width + i] = 0;
        return;
    }
#if BRV_X86
    if (tier >= BRV_TIER_AVX2 && d % 8 == 0) {
        attend_avx2(nq, rows, width, q, k, v, ld, nk, d, h0, h1, scale, bias, bias_stride, radius, position, out, scratch);
        return;
    }
#else
    (void)tier;
#endif
    for (ptrdiff_t r = 0; r < nq; r++)
        attend_portable(q + rows[r] * width, k, v, ld, nk, d, h0, h1, scale, bias, bias_stride, radius, position,
                        out + rows[r] * width, scratch);
}

void brv_attend_row(int tier, const float *q, const float *k, const float *v, ptrdiff_t ld, ptrdiff_t nk,
                    ptrdiff_t d, ptrdiff_t h0, ptrdiff_t h1, float scale, const float *bias, ptrdiff_t bias_stride,
                    ptrdiff_t radius, ptrdiff_t position, float *out, float *scratch) {
    const ptrdiff_t row = 0;
    brv_attend_rows(tier, 1, &row, 0, q, k, v, ld, nk, d, h0, h1, scale, bias, bias_stride, radius, position, out, scratch);
}
