// Top-k over a vocabulary row, the last pass of a decode step's token choice: beam search keeps the best
// 2·num_beams of (running score + log-probability) over num_beams·V, greedy the best raw logit. The values are
// formed on the fly from the logits and log-softmax's two constants (brv_log_softmax_shift), so the row of
// log-probabilities is never written. Order: larger value first, the lower index on ties (torch.topk's
// result for transformers' beam search, argmax's first maximum).

#include "brevity_kernels.h"
#include "simd.h"

/// Whether a ranks before b.
static inline int better(float value, int64_t index, const brv_candidate *b) {
    return value > b->value || (value == b->value && index < b->index);
}

void brv_topk_offer(float value, int64_t index, brv_candidate *top, ptrdiff_t k, ptrdiff_t *count) {
    ptrdiff_t n = *count;
    if (k <= 0) return;
    if (n == k) {
        if (!better(value, index, &top[k - 1])) return;
        n--;
    }
    ptrdiff_t pos = n;
    while (pos > 0 && better(value, index, &top[pos - 1])) {
        top[pos] = top[pos - 1];
        pos--;
    }
    top[pos].value = value;
    top[pos].index = index;
    *count = n + 1;
}

/// Elements [lo, hi) of the row, one at a time.
static void scan_scalar(const float *x, ptrdiff_t lo, ptrdiff_t hi, float max, float lse, float base, int64_t offset,
                        brv_candidate *top, ptrdiff_t k, ptrdiff_t *count) {
    for (ptrdiff_t t = lo; t < hi; t++) brv_topk_offer(base + ((x[t] - max) - lse), offset + t, top, k, count);
}

#if BRV_X86

/// Elements [lo, hi): 8 values at a time against the current k-th value; only lanes that reach it are offered
/// (with the value the scalar loop forms, bit for bit: the same three float operations).
static AVX2 void scan_avx2(const float *x, ptrdiff_t lo, ptrdiff_t hi, float max, float lse, float base,
                           int64_t offset, brv_candidate *top, ptrdiff_t k, ptrdiff_t *count) {
    ptrdiff_t t = lo;
    for (; t < hi && *count < k; t++) brv_topk_offer(base + ((x[t] - max) - lse), offset + t, top, k, count);
    if (t >= hi) return;
    const __m256 mv = _mm256_set1_ps(max), lv = _mm256_set1_ps(lse), bv = _mm256_set1_ps(base);
    __m256 threshold = _mm256_set1_ps(top[k - 1].value);
    for (; t + 8 <= hi; t += 8) {
        const __m256 v = _mm256_add_ps(bv, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + t), mv), lv));
        // >= : a value equal to the k-th may still rank before it by index
        int hits = _mm256_movemask_ps(_mm256_cmp_ps(v, threshold, _CMP_GE_OQ));
        if (!hits) continue;
        float lanes[8];
        _mm256_storeu_ps(lanes, v);
        while (hits) {
            const int l = __builtin_ctz((unsigned)hits);
            hits &= hits - 1;
            brv_topk_offer(lanes[l], offset + t + l, top, k, count);
        }
        threshold = _mm256_set1_ps(top[k - 1].value);
    }
    scan_scalar(x, t, hi, max, lse, base, offset, top, k, count);
}

#endif

void brv_topk_scan(int tier, const float *x, ptrdiff_t n, float max, float lse, float base, const int64_t *skip,
                   ptrdiff_t nskip, int64_t offset, brv_candidate *top, ptrdiff_t k, ptrdiff_t *count) {
    if (k <= 0 || n <= 0) return;
    ptrdiff_t lo = 0;
    for (ptrdiff_t s = 0; s <= nskip; s++) {
        ptrdiff_t hi = s < nskip ? (ptrdiff_t)skip[s] : n;
        if (hi > n) hi = n;
        if (hi > lo) {
#if BRV_X86
            if (tier >= BRV_TIER_AVX2) scan_avx2(x, lo, hi, max, lse, base, offset, top, k, count);
            else scan_scalar(x, lo, hi, max, lse, base, offset, top, k, count);
#else
            (void)tier;
            scan_scalar(x, lo, hi, max, lse, base, offset, top, k, count);
#endif
        }
        if (hi + 1 > lo) lo = hi + 1;
    }
}
