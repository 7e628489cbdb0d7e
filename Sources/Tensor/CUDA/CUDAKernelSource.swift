// The CUDA backend's kernels as CUDA C++ source, compiled by NVRTC on first use for the device's
// architecture and cached on disk (CUDACompiler.swift). Every kernel is instantiated for float, __half and
// __nv_bfloat16 activations (suffixes _f32, _f16, _bf16) and accumulates in float. `make cuda-check`
// compiles all of them for sm_80 and sm_90 on a machine without a GPU.

public enum CUDAKernelSource {
    /// Kernel names, each with its three type suffixes.
    public static let kernels = ["embed", "add", "mul", "layer_norm", "rms_norm", "bias_act", "attention", "log_softmax",
                          "gather_rows", "to_f32", "from_f32", "choose_tokens"]

    /// Each kernel's parameters in order, read from `source`'s `extern "C"` declarations: launches are
    /// checked against them (`KernelArguments.kinds`), so an argument out of order is an error, not memory
    /// read as the wrong type.
    public static let signatures: [String: [KernelArguments.Kind]] = {
        var table: [String: [KernelArguments.Kind]] = [:]
        let text = source.replacingOccurrences(of: "\\\n", with: " ")
        var rest = Substring(text)
        while let r = rest.range(of: "extern \"C\" __global__ void ") {
            rest = rest[r.upperBound...]
            guard let open = rest.firstIndex(of: "("), let close = rest.firstIndex(of: ")") else { break }
            let name = rest[..<open].replacingOccurrences(of: "_##S", with: "")
            table[name] = rest[rest.index(after: open)..<close].split(separator: ",").map { p in
                if p.contains("*") { return .pointer }
                let type = p.split(separator: " ").dropLast().last ?? ""
                return type == "float" ? .float : type == "long" ? .int64 : .int32
            }
            rest = rest[close...]
        }
        return table
    }()

    public static let source = #"""
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float tof(float v) { return v; }
__device__ __forceinline__ float tof(__half v) { return __half2float(v); }
__device__ __forceinline__ float tof(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T fromf(float v);
template <> __device__ __forceinline__ float fromf<float>(float v) { return v; }
template <> __device__ __forceinline__ __half fromf<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 fromf<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets the total.
__device__ float block_sum(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float t = 0.f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) t += partial[w];
    return t;
}

__device__ float block_max(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float t = NEG_INF;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) t = fmaxf(t, partial[w]);
    return t;
}

// y[r, :] = table[ids[r], :] * scale (+ positions[pos[r], :]); grid: rows, block: threads over C.
template <typename T>
__device__ void embed(const int *ids, const T *table, float scale, const int *pos, const T *positions,
                      T *y, int C) {
    const int r = blockIdx.x;
    const T *src = table + (size_t)ids[r] * C;
    const T *p = positions ? positions + (size_t)pos[r] * C : nullptr;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v = tof(src[c]) * scale;
        if (p) v += tof(p[c]);
        y[(size_t)r * C + c] = fromf<T>(v);
    }
}

template <typename T>
__device__ void add(const T *a, const T *b, T *y, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = fromf<T>(tof(a[i]) + tof(b[i]));
}

template <typename T>
__device__ void mul(const T *a, const T *b, T *y, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = fromf<T>(tof(a[i]) * tof(b[i]));
}

// T5's RMS norm, one row per block: w * (x * rsqrt(mean(x^2) + eps)), in float.
template <typename T>
__device__ void rms_norm(const T *x, const T *w, T *y, int C, float eps) {
    const T *row = x + (size_t)blockIdx.x * C;
    T *out = y + (size_t)blockIdx.x * C;
    float q = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { float v = tof(row[c]); q += v * v; }
    const float rstd = rsqrtf(block_sum(q) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[c] = fromf<T>(tof(w[c]) * (tof(row[c]) * rstd));
}

// One row per block: mean and variance in float over C, then (x - mean) * rstd * w + b.
template <typename T>
__device__ void layer_norm(const T *x, const T *w, const T *b, T *y, int C, float eps) {
    const T *row = x + (size_t)blockIdx.x * C;
    T *out = y + (size_t)blockIdx.x * C;
    float s = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += tof(row[c]);
    const float mean = block_sum(s) / C;
    float q = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { float d = tof(row[c]) - mean; q += d * d; }
    const float rstd = rsqrtf(block_sum(q) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        out[c] = fromf<T>((tof(row[c]) - mean) * rstd * tof(w[c]) + tof(b[c]));
}

// kind: 0 gelu (erf), 1 gelu (tanh), 2 relu, 3 silu, 4 tanh (Activation's cases in order)
__device__ __forceinline__ float activate(float v, int kind) {
    switch (kind) {
    case 0: return 0.5f * v * erfcf(-v * 0.70710678118654752f);   // x/2 · (1 + erf(x/√2)), accurate in the negative tail
    case 1: return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case 2: return fmaxf(v, 0.f);
    case 3: return v / (1.f + expf(-v));
    default: return tanhf(v);
    }
}

// y[i] = act(y[i] + bias[i % C]) in place (kind < 0: bias only); bias may be null.
template <typename T>
__device__ void bias_act(T *y, const T *bias, long n, int C, int kind) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        float v = tof(y[i]) + (bias ? tof(bias[i % C]) : 0.f);
        y[i] = fromf<T>(kind < 0 ? v : activate(v, kind));
    }
}

// Packed attention: span s (6 ints: queryStart, queryCount, keyIndex, keyStart, keyCount, causal) lets its
// queries attend to rows keyStart..<keyStart+keyCount of keys[keyIndex] / values[keyIndex]. Grid: (total
// query rows, heads); block: 128 threads; dynamic shared memory: keyCount floats (the largest span's).
// rowSpan[r] is the span of packed query row r. Scores and softmax in float. bias (may be null): T5's
// relative position bias [heads, 2 * radius + 1], added at clamp(key - query position, +-radius).
template <typename T>
__device__ void attention(const T *q, const T *const *keys, const T *const *values, const int *spans,
                          const int *rowSpan, T *out, int width, int headDim, float scale, const T *bias, int radius) {
    extern __shared__ float scores[];
    const int r = blockIdx.x, h = blockIdx.y;
    const int *s = spans + 6 * rowSpan[r];
    const int qStart = s[0], qCount = s[1], kIndex = s[2], kStart = s[3], kCount = s[4], causal = s[5];
    const int j = r - qStart;
    const int visible = causal ? kCount - qCount + j + 1 : kCount;
    const T *qr = q + (size_t)r * width + h * headDim;
    const T *K = keys[kIndex] + (size_t)kStart * width + h * headDim;
    const T *V = values[kIndex] + (size_t)kStart * width + h * headDim;
    const int position = kCount - qCount + j;
    const T *b = bias ? bias + (size_t)h * (2 * radius + 1) + radius : nullptr;
    float m = NEG_INF;
    for (int k = threadIdx.x; k < visible; k += blockDim.x) {
        const T *kr = K + (size_t)k * width;
        float d = 0.f;
        for (int i = 0; i < headDim; i++) d += tof(qr[i]) * tof(kr[i]);
        d *= scale;
        if (b) d += tof(b[min(max(k - position, -radius), radius)]);
        scores[k] = d;
        m = fmaxf(m, d);
    }
    m = block_max(m);
    float z = 0.f;
    for (int k = threadIdx.x; k < visible; k += blockDim.x) { float e = expf(scores[k] - m); scores[k] = e; z += e; }
    const float inv = 1.f / block_sum(z);
    __syncthreads();
    for (int i = threadIdx.x; i < headDim; i += blockDim.x) {
        float acc = 0.f;
        for (int k = 0; k < visible; k++) acc += scores[k] * tof(V[(size_t)k * width + i]);
        out[(size_t)r * width + h * headDim + i] = fromf<T>(acc * inv);
    }
}

// log-softmax's constants over a row of V, read by the whole block: m = max(x + bias) and
// lse = log Σ exp(x + bias - m), in float (bias may be null). Every thread gets both.
template <typename T>
__device__ void row_shift(const T *row, const T *bias, int V, float &m, float &lse) {
    m = NEG_INF;
    for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, tof(row[i]) + (bias ? tof(bias[i]) : 0.f));
    m = block_max(m);
    float z = 0.f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) z += expf(tof(row[i]) + (bias ? tof(bias[i]) : 0.f) - m);
    lse = logf(block_sum(z));
}

// One row per block: out = x + bias - max - log Σ exp(x + bias - max), in float (bias may be null).
template <typename T>
__device__ void log_softmax(const T *x, const T *bias, float *out, int V) {
    const T *row = x + (size_t)blockIdx.x * V;
    float *o = out + (size_t)blockIdx.x * V;
    float m, lse;
    row_shift(row, bias, V, m, lse);
    for (int i = threadIdx.x; i < V; i += blockDim.x) o[i] = tof(row[i]) + (bias ? tof(bias[i]) : 0.f) - m - lse;
}

// y[r, :] = x[rows[r], :]; grid: rows.
template <typename T>
__device__ void gather_rows(const T *x, const int *rows, T *y, int C) {
    const T *src = x + (size_t)rows[blockIdx.x] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) y[(size_t)blockIdx.x * C + c] = src[c];
}

template <typename T>
__device__ void to_f32(const T *x, float *y, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] = tof(x[i]);
}

template <typename T>
__device__ void from_f32(const float *x, T *y, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] = fromf<T>(x[i]);
}

// Whether candidate (v, i) ranks before (bv, bi): the larger value, then the lower index; index < 0 is no
// candidate and ranks last. The host's order (Sources/CKernels/topk.c), so both pick the same tokens.
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return i >= 0 && (bi < 0 || v > bv || (v == bv && i < bi));
}

// The best candidate over the block; every thread gets it.
__device__ void block_best(float &v, int &i) {
    __shared__ float bestValue[32];
    __shared__ int bestIndex[32];
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (better(ov, oi, v, i)) { v = ov; i = oi; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) { bestValue[warp] = v; bestIndex[warp] = i; }
    __syncthreads();
    v = bestValue[0];
    i = bestIndex[0];
    for (int w = 1; w < (int)(blockDim.x >> 5); w++)
        if (better(bestValue[w], bestIndex[w], v, i)) { v = bestValue[w]; i = bestIndex[w]; }
}

#define MAX_CHOICES 64

// A decode step's token choice on the device, so only the candidates come back to the host. Selection s
// (grid: one block per selection) reads logits row table[4s] of x [rows, V]; with table[4s+1] (log-softmax)
// its values are base + ((x - max) - lse), else the raw logits. It writes out[s * (3 + 2K) ...]: max, lse,
// the number of candidates n, then the K best values and their token ids (int bits), best first, over the
// tokens not in its touched list (touched[table[4s+2] ..< + table[4s+3]], ascending: the host processes
// those); and, after every selection's block, each touched token's raw logit. Order as `better`.
template <typename T>
__device__ void choose_tokens(const T *x, int V, const int *table, const float *bases, const int *touched, int K,
                              float *out) {
    const int s = blockIdx.x;
    const T *row = x + (size_t)table[4 * s] * V;
    const bool logSoftmax = table[4 * s + 1] != 0;
    const int *skip = touched + table[4 * s + 2];
    const int skipCount = table[4 * s + 3];
    float *o = out + (size_t)s * (3 + 2 * K);
    float m, lse;
    row_shift(row, (const T *)nullptr, V, m, lse);
    const float shift = logSoftmax ? m : 0.f, scale = logSoftmax ? lse : 0.f, base = bases[s];
    // each thread's best K over its tokens (ascending, so the touched list is walked once)
    float value[MAX_CHOICES];
    int index[MAX_CHOICES];
    int n = 0, next = 0;
    for (int t = threadIdx.x; t < V; t += blockDim.x) {
        while (next < skipCount && skip[next] < t) next++;
        if (next < skipCount && skip[next] == t) continue;
        const float v = base + ((tof(row[t]) - shift) - scale);
        if (n == K && !better(v, t, value[K - 1], index[K - 1])) continue;
        int p = n < K ? n++ : K - 1;
        for (; p > 0 && better(v, t, value[p - 1], index[p - 1]); p--) { value[p] = value[p - 1]; index[p] = index[p - 1]; }
        value[p] = v;
        index[p] = t;
    }
    // K rounds of the block's best head; its owner moves past it
    int head = 0, chosen = 0;
    for (; chosen < K; chosen++) {
        float v = head < n ? value[head] : 0.f;
        int i = head < n ? index[head] : -1;
        block_best(v, i);
        if (i < 0) break;
        if (head < n && index[head] == i) head++;
        if (threadIdx.x == 0) { o[3 + chosen] = v; o[3 + K + chosen] = __int_as_float(i); }
    }
    if (threadIdx.x == 0) { o[0] = m; o[1] = lse; o[2] = (float)chosen; }
    float *raw = out + (size_t)gridDim.x * (3 + 2 * K) + table[4 * s + 2];
    for (int j = threadIdx.x; j < skipCount; j += blockDim.x) raw[j] = tof(row[skip[j]]);
}

#define INSTANTIATE(S, T) \
    extern "C" __global__ void embed_##S(const int *ids, const T *table, float scale, const int *pos, \
                                         const T *positions, T *y, int C) { embed<T>(ids, table, scale, pos, positions, y, C); } \
    extern "C" __global__ void add_##S(const T *a, const T *b, T *y, long n) { add<T>(a, b, y, n); } \
    extern "C" __global__ void mul_##S(const T *a, const T *b, T *y, long n) { mul<T>(a, b, y, n); } \
    extern "C" __global__ void layer_norm_##S(const T *x, const T *w, const T *b, T *y, int C, float eps) { \
        layer_norm<T>(x, w, b, y, C, eps); } \
    extern "C" __global__ void rms_norm_##S(const T *x, const T *w, T *y, int C, float eps) { rms_norm<T>(x, w, y, C, eps); } \
    extern "C" __global__ void bias_act_##S(T *y, const T *bias, long n, int C, int kind) { bias_act<T>(y, bias, n, C, kind); } \
    extern "C" __global__ void attention_##S(const T *q, const T *const *keys, const T *const *values, const int *spans, \
                                             const int *rowSpan, T *out, int width, int headDim, float scale, \
                                             const T *bias, int radius) { \
        attention<T>(q, keys, values, spans, rowSpan, out, width, headDim, scale, bias, radius); } \
    extern "C" __global__ void log_softmax_##S(const T *x, const T *bias, float *out, int V) { log_softmax<T>(x, bias, out, V); } \
    extern "C" __global__ void gather_rows_##S(const T *x, const int *rows, T *y, int C) { gather_rows<T>(x, rows, y, C); } \
    extern "C" __global__ void to_f32_##S(const T *x, float *y, long n) { to_f32<T>(x, y, n); } \
    extern "C" __global__ void from_f32_##S(const float *x, T *y, long n) { from_f32<T>(x, y, n); } \
    extern "C" __global__ void choose_tokens_##S(const T *x, int V, const int *table, const float *bases, \
                                                 const int *touched, int K, float *out) { \
        choose_tokens<T>(x, V, table, bases, touched, K, out); }

INSTANTIATE(f32, float)
INSTANTIATE(f16, __half)
INSTANTIATE(bf16, __nv_bfloat16)
"""#
}
