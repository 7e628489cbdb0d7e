// Every operation of a backend against a reference backend on small random inputs: the start-up check a
// GPU must pass before it serves (a wrong kernel, driver or library is found before a request is taken,
// and `--device auto` falls back to the CPU with the reason), and a test of the comparison itself on the
// CPU. Inputs are rounded to the candidate's type first, so the difference measured is the arithmetic's.

public struct BackendSelfTest: Sendable {
    /// Normalized error ‖candidate − reference‖ / ‖reference‖ allowed per op.
    public let tolerance: Double
    /// The type the candidate holds its tensors in (inputs are rounded to it).
    public let type: DType

    public init(type: DType) {
        self.type = type
        switch type {
        case .f32: tolerance = 1e-5
        case .f16: tolerance = 3e-3
        case .bf16, .int8: tolerance = 2e-2
        }
    }

    public struct Mismatch: Error, CustomStringConvertible {
        public let op: String
        public let error: Double
        public let tolerance: Double
        public var description: String {
            error.isNaN ? "\(op): NaN or a shape mismatch against the reference"
                : "\(op): normalized error \(error) against the reference (at most \(tolerance))"
        }
    }

    /// The normalized error of each op; throws the first past the tolerance.
    @discardableResult
    public func run(_ candidate: any Backend, reference: any Backend = CPUBackend.shared) throws -> [(op: String, error: Double)] {
        var rng = SplitMix(seed: 0x5eed)
        var results: [(op: String, error: Double)] = []
        /// v as the candidate's type holds it
        func rounded(_ v: Float) -> Float {
            guard type == .f16 || type == .bf16 else { return v }
            var x = v, bits: UInt16 = 0, out: Float = 0
            withUnsafeMutableBytes(of: &bits) { type.narrow(&x, count: 1, into: $0.baseAddress!) }
            withUnsafeBytes(of: bits) { type.widen($0.baseAddress!, count: 1, into: &out) }
            return out
        }
        func values(_ n: Int, _ spread: Float = 1) -> [Float] {
            (0..<n).map { _ in rounded((Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * spread) }
        }
        func pair(_ v: [Float], _ shape: [Int]) -> (Tensor, Tensor) {
            (Tensor(v, shape: shape, on: candidate), Tensor(v, shape: shape, on: reference))
        }
        func check(_ op: String, _ c: Tensor, _ r: Tensor) throws {
            let a = candidate.download(c), b = reference.download(r)
            var diff = 0.0, norm = 0.0
            if a.count != b.count || c.shape != r.shape { diff = .nan }
            for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
            let e = diff.isNaN ? .nan : (diff / max(norm, 1e-30)).squareRoot()
            results.append((op, e))
            guard e <= tolerance else { throw Mismatch(op: op, error: e, tolerance: tolerance) }
        }

        // products: decode-shaped and prefill-shaped, odd sizes, with and without bias
        for (n, k, m) in [(1, 64, 48), (3, 40, 24), (37, 96, 130)] {
            let (x, xr) = pair(values(n * k), [n, k]), (w, wr) = pair(values(m * k, 0.2), [m, k]), (b, br) = pair(values(m), [m])
            try check("linear \(n)x\(k)x\(m)", candidate.linear(x, weight: w, bias: b), reference.linear(xr, weight: wr, bias: br))
            try check("linear \(n)x\(k)x\(m) no bias", candidate.linear(x, weight: w, bias: nil), reference.linear(xr, weight: wr, bias: nil))
        }
        let (a, ar) = pair(values(5 * 33), [5, 33]), (b, br) = pair(values(5 * 33), [5, 33])
        try check("add", candidate.add(a, b), reference.add(ar, br))
        try check("multiply", candidate.multiply(a, b), reference.multiply(ar, br))
        let (g, gr) = pair(values(33, 0.5).map { rounded($0 + 1) }, [33]), (h, hr) = pair(values(33), [33])
        try check("layerNorm", candidate.layerNorm(a, weight: g, bias: h, eps: 1e-5), reference.layerNorm(ar, weight: gr, bias: hr, eps: 1e-5))
        try check("rmsNorm", candidate.rmsNorm(a, weight: g, eps: 1e-6), reference.rmsNorm(ar, weight: gr, eps: 1e-6))
        for kind in [Activation.gelu, .geluTanh, .relu, .silu, .tanh] {
            let (x, xr) = pair(values(4 * 50, 3), [4, 50])
            try check("activation \(kind)", candidate.activation(x, kind), reference.activation(xr, kind))
        }
        let (table, tr) = pair(values(11 * 24), [11, 24])
        try check("embedding", candidate.embedding([3, 0, 10, 3], table: table, scale: 1.5), reference.embedding([3, 0, 10, 3], table: tr, scale: 1.5))
        try check("gatherRows", candidate.gatherRows(table, rows: [10, 2, 2]), reference.gatherRows(tr, rows: [10, 2, 2]))
        let (logits, lr) = pair(values(3 * 1000, 8), [3, 1000])
        try check("logSoftmax", candidate.logSoftmax(logits), reference.logSoftmax(lr))

        // a decode step's token choice: given its own max and lse, the candidate picks what the host's scan
        // picks, bit for bit; its lse is within the tolerance of the host's
        let host = reference.download(lr), requests = [
            TopKRow(row: 0, logSoftmax: true, offset: -1.5, excluded: [3, 17, 400, 999]),
            TopKRow(row: 2, logSoftmax: false, offset: 0, excluded: []),
            TopKRow(row: 0, logSoftmax: true, offset: 0, excluded: [])]
        var choiceError = 0.0
        for (r, c) in zip(requests, candidate.topK(logits, rows: requests, k: 8)) {
            let row = Array(host[r.row * 1000..<(r.row + 1) * 1000])
            var top = TopKList(k: 8)
            let (m, lse) = row.withUnsafeBufferPointer { p in
                top.scan(p.baseAddress!, count: 1000, max: r.logSoftmax ? c.max : 0, lse: r.logSoftmax ? c.lse : 0, base: r.offset,
                         skipping: r.excluded)
                return logSoftmaxShift(p.baseAddress!, count: 1000)
            }
            let same = c.indices == top.indices && c.values == top.values && c.max == m && c.excludedValues == r.excluded.map { row[$0] }
            choiceError = same ? max(choiceError, Double(abs(c.lse - lse)) / Double(max(1, abs(lse)))) : .nan
            if !same { break }
        }
        results.append(("topK", choiceError))
        guard choiceError <= tolerance else { throw Mismatch(op: "topK", error: choiceError, tolerance: tolerance) }

        // attention: two packed encoder inputs over one key set, then decoder rows over their own caches
        let heads = 4, width = 32
        let (q, qr) = pair(values(9 * width), [9, width]), (k, kr) = pair(values(9 * width), [9, width]), (v, vr) = pair(values(9 * width), [9, width])
        let enc = [AttentionSpan(queryStart: 0, queryCount: 6, keyIndex: 0, keyStart: 0, keyCount: 6, causal: false),
                   AttentionSpan(queryStart: 6, queryCount: 3, keyIndex: 0, keyStart: 6, keyCount: 3, causal: false)]
        try check("attention (encoder)", candidate.attention(query: q, keys: [k], values: [v], spans: enc, heads: heads, scale: 0.35),
                  reference.attention(query: qr, keys: [kr], values: [vr], spans: enc, heads: heads, scale: 0.35))
        let (k2, k2r) = pair(values(12 * width), [12, width]), (v2, v2r) = pair(values(12 * width), [12, width])
        let dec = [AttentionSpan(queryStart: 0, queryCount: 2, keyIndex: 0, keyStart: 0, keyCount: 7, causal: true),
                   AttentionSpan(queryStart: 2, queryCount: 1, keyIndex: 1, keyStart: 0, keyCount: 12, causal: true),
                   AttentionSpan(queryStart: 3, queryCount: 6, keyIndex: 1, keyStart: 2, keyCount: 6, causal: true)]
        try check("attention (decoder)", candidate.attention(query: q, keys: [k, k2], values: [v, v2], spans: dec, heads: heads, scale: 0.35),
                  reference.attention(query: qr, keys: [kr, k2r], values: [vr, v2r], spans: dec, heads: heads, scale: 0.35))

        // T5's relative position bias (radius 3: most distances clamp) on both kinds of spans
        let (rel, relr) = pair(values(heads * 7, 2), [heads, 7])
        let bias = RelativePositionBias(table: rel, radius: 3), biasr = RelativePositionBias(table: relr, radius: 3)
        try check("attention (encoder, relative bias)",
                  candidate.attention(query: q, keys: [k], values: [v], spans: enc, heads: heads, scale: 1, bias: bias),
                  reference.attention(query: qr, keys: [kr], values: [vr], spans: enc, heads: heads, scale: 1, bias: biasr))
        try check("attention (decoder, relative bias)",
                  candidate.attention(query: q, keys: [k, k2], values: [v, v2], spans: dec, heads: heads, scale: 1, bias: bias),
                  reference.attention(query: qr, keys: [kr, k2r], values: [vr, v2r], spans: dec, heads: heads, scale: 1, bias: biasr))

        // the KV cache's memory operations: zeros, rows written into a copy, a copy kept apart
        var cache = Tensor.zeros([6, width], on: candidate), cacheRef = Tensor.zeros([6, width], on: reference)
        let shared = cache, sharedRef = cacheRef
        cache.setRows(at: 2, from: k, sourceRow: 4, rowCount: 3)
        cacheRef.setRows(at: 2, from: kr, sourceRow: 4, rowCount: 3)
        try check("setRows", cache, cacheRef)
        try check("copy on write", shared + k.rowSlice(0, 6), sharedRef + kr.rowSlice(0, 6))
        return results
    }
}

/// SplitMix64: a small deterministic generator for test inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
