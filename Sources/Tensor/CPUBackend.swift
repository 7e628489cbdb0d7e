// The CPU backend: float32 in host memory, every projection through OpenBLAS `cblas_sgemm`.

import CBLAS
import Foundation

public final class CPUBackend: Backend, @unchecked Sendable {
    public static let shared = CPUBackend()
    public let name = "cpu"

    public init() {}

    /// Cores used by the CPU kernels (OpenBLAS keeps its own setting).
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Attention spans with fewer score multiply-adds per head (nq · nk · d) run one head per core;
    /// OpenBLAS keeps products this small on the calling thread.
    static let smallAttention = 1 << 16
    /// Decode-shaped products through `SkinnyGEMM` (switch off to compare with BLAS).
    nonisolated(unsafe) public static var skinnyEnabled = true

    // MARK: memory

    public func allocate(count: Int, zeroed: Bool) -> TensorStorage {
        let bytes = max(count, 1) * 4
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        if zeroed { p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        return TensorStorage(backend: self, pointer: p, count: count, release: { $0.deallocate() })
    }

    public func upload(_ values: UnsafeBufferPointer<Float>) -> TensorStorage {
        let s = allocate(count: values.count, zeroed: false)
        if let base = values.baseAddress { s.floats.update(from: base, count: values.count) }
        return s
    }

    public func download(_ tensor: Tensor) -> [Float] {
        Array(UnsafeBufferPointer(start: tensor.storage.floats, count: tensor.count))
    }

    public func wrap(readOnlyHost pointer: UnsafeRawPointer, count: Int, owner: AnyObject) -> TensorStorage? {
        guard Int(bitPattern: pointer) % 4 == 0 else { return nil }
        // The owner (a mapped file) is retained by the release closure; weights are never written in place.
        return TensorStorage(backend: self, pointer: UnsafeMutableRawPointer(mutating: pointer), count: count,
                             release: { _ in withExtendedLifetime(owner) {} })
    }

    public func copy(_ storage: TensorStorage, count: Int) -> TensorStorage {
        let s = allocate(count: count, zeroed: false)
        s.floats.update(from: storage.floats, count: count)
        return s
    }

    public func copyRows(from source: Tensor, row sourceRow: Int, into destination: TensorStorage, row: Int,
                         rows: Int, width: Int) {
        (destination.floats + row * width).update(from: source.storage.floats + sourceRow * width, count: rows * width)
    }

    private func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: allocate(count: shape.reduce(1, *), zeroed: false))
    }

    // MARK: ops

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let k = x.columns, n = x.rows, m = weight.shape[0]
        precondition(weight.rank == 2 && weight.shape[1] == k, "linear: x \(x.shape) vs weight \(weight.shape)")
        var outShape = x.shape
        outShape[outShape.count - 1] = m
        let y = empty(outShape)
        let yp = y.storage.floats
        var beta: Float = 0
        if let bias {
            precondition(bias.count == m)
            let bp = bias.storage.floats
            for r in 0..<n { (yp + r * m).update(from: bp, count: m) }
            beta = 1
        }
        if n > 0 && n <= SkinnyGEMM.maxRows && m * k >= SkinnyGEMM.minWeights && CPUBackend.skinnyEnabled {
            SkinnyGEMM.run(x: x.storage.floats, m: n, k: k, w: weight.storage.floats, n: m,
                           bias: bias?.storage.floats, y: yp, threads: threads)
        } else if n > 0 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(m), Int32(k), 1,
                        x.storage.floats, Int32(k), weight.storage.floats, Int32(k), beta, yp, Int32(m))
        }
        return y
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let y = empty(a.shape)
        let ap = a.storage.floats, bp = b.storage.floats, yp = y.storage.floats
        for i in 0..<a.count { yp[i] = ap[i] + bp[i] }
        return y
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let c = x.columns, n = x.rows
        precondition(weight.count == c && bias.count == c)
        let y = empty(x.shape)
        let xp = x.storage.floats, yp = y.storage.floats, w = weight.storage.floats, b = bias.storage.floats
        for r in 0..<n {
            let row = xp + r * c, out = yp + r * c
            var sum: Double = 0
            for i in 0..<c { sum += Double(row[i]) }
            let mean = sum / Double(c)
            var sq: Double = 0
            for i in 0..<c { let d = Double(row[i]) - mean; sq += d * d }
            let rstd = Float(1 / (sq / Double(c) + Double(eps)).squareRoot())
            let m = Float(mean)
            for i in 0..<c { out[i] = (row[i] - m) * rstd * w[i] + b[i] }
        }
        return y
    }

    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        let y = empty(x.shape)
        let xp = x.storage.floats, yp = y.storage.floats
        Parallel.chunks(x.count, grain: 1 << 14, threads: threads) { r in
            switch kind {
            case .gelu:
                for i in r { let v = xp[i]; yp[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
            case .geluTanh:
                for i in r {
                    let v = xp[i]
                    yp[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                }
            case .relu:
                for i in r { yp[i] = max(xp[i], 0) }
            case .silu:
                for i in r { let v = xp[i]; yp[i] = v / (1 + expf(-v)) }
            case .tanh:
                for i in r { yp[i] = tanhf(xp[i]) }
            }
        }
        return y
    }

    public func embedding(_ ids: [Int], table: Tensor, scale: Float) -> Tensor {
        let c = table.columns, v = table.rows
        let y = empty([ids.count, c])
        let tp = table.storage.floats, yp = y.storage.floats
        for (r, id) in ids.enumerated() {
            precondition(id >= 0 && id < v, "embedding: id \(id) outside [0, \(v))")
            if scale == 1 {
                (yp + r * c).update(from: tp + id * c, count: c)
            } else {
                for i in 0..<c { yp[r * c + i] = tp[id * c + i] * scale }
            }
        }
        return y
    }

    public func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor {
        let c = x.columns
        let y = empty([rows.count, c])
        for (r, src) in rows.enumerated() {
            (y.storage.floats + r * c).update(from: x.storage.floats + src * c, count: c)
        }
        return y
    }

    public func logSoftmax(_ x: Tensor) -> Tensor {
        let c = x.columns, n = x.rows
        let y = empty(x.shape)
        for r in 0..<n {
            logSoftmaxRow(x.storage.floats + r * c, into: y.storage.floats + r * c, count: c)
        }
        return y
    }

    public func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int,
                          scale: Float) -> Tensor {
        let width = query.columns, d = width / heads
        precondition(d * heads == width, "attention: width \(width) not divisible by \(heads) heads")
        let out = empty(query.shape)
        let qp = query.storage.floats, op = out.storage.floats
        // Small spans (short sentences, decoder steps): one unit per (span, head) on each core, OpenBLAS
        // running each tiny product on the calling thread. Large spans (long inputs): every head's scores
        // by BLAS (which threads large products itself), the softmax rows split over the cores, then every
        // head's output. Each head's arithmetic is the same either way.
        let isSmall = { (s: AttentionSpan) in s.queryCount * s.keyCount * d < Self.smallAttention }
        let small = spans.filter(isSmall), large = spans.filter { !isSmall($0) }
        let units = small.indices.flatMap { i in (0..<heads).map { (span: i, head: $0) } }
        let unitFlops = small.reduce(0) { $0 + $1.queryCount * $1.keyCount } * width
        let workers = unitFlops >= 1 << 18 ? min(threads, units.count) : 1
        let smallSize = small.map { $0.queryCount * $0.keyCount }.max() ?? 0
        let largeSize = (large.map { $0.queryCount * $0.keyCount }.max() ?? 0) * heads
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, smallSize * workers, largeSize))
        defer { scratch.deallocate() }

        /// scores: [nq, nk] = scale · q_h · k_hᵀ into `s`
        func scores(_ span: AttentionSpan, _ h: Int, _ s: UnsafeMutablePointer<Float>) {
            let nq = span.queryCount, nk = span.keyCount
            let q = qp + span.queryStart * width + h * d
            let k = keys[span.keyIndex].storage.floats + span.keyStart * width + h * d
            if nq == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(nk), Int32(d), scale, k, Int32(width), q, 1, 0, s, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(d), scale,
                            q, Int32(width), k, Int32(width), 0, s, Int32(nk))
            }
        }
        /// softmax of score row j (causal spans see the keys up to their own position)
        func normalize(_ span: AttentionSpan, row j: Int, _ row: UnsafeMutablePointer<Float>) {
            let nk = span.keyCount
            let visible = span.causal ? nk - span.queryCount + j + 1 : nk
            softmaxRow(row, count: visible)
            for i in visible..<nk { row[i] = 0 }
        }
        /// out_h: [nq, d] = p · v_h
        func weighted(_ span: AttentionSpan, _ h: Int, _ s: UnsafeMutablePointer<Float>) {
            let nq = span.queryCount, nk = span.keyCount
            let o = op + span.queryStart * width + h * d
            let v = values[span.keyIndex].storage.floats + span.keyStart * width + h * d
            if nq == 1 {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(nk), Int32(d), 1, v, Int32(width), s, 1, 0, o, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(d), Int32(nk), 1,
                            s, Int32(nk), v, Int32(width), 0, o, Int32(width))
            }
        }

        for span in spans {
            precondition(keys[span.keyIndex].columns == width && span.keyStart + span.keyCount <= keys[span.keyIndex].rows)
        }
        Parallel.strided(units.count, workers: workers) { w, u in
            let span = small[units[u].span], h = units[u].head
            let s = scratch + w * smallSize
            scores(span, h, s)
            for j in 0..<span.queryCount { normalize(span, row: j, s + j * span.keyCount) }
            weighted(span, h, s)
        }
        for span in large {
            let nq = span.queryCount, nk = span.keyCount
            for h in 0..<heads { scores(span, h, scratch + h * nq * nk) }
            Parallel.chunks(heads * nq, grain: max(1, (1 << 14) / nk), threads: threads) { rows in
                for r in rows { normalize(span, row: r % nq, scratch + r * nk) }
            }
            for h in 0..<heads { weighted(span, h, scratch + h * nq * nk) }
        }
        return out
    }
}

@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var m = -Float.infinity
    for i in 0..<count { m = max(m, row[i]) }
    var sum: Float = 0
    for i in 0..<count { let e = expf(row[i] - m); row[i] = e; sum += e }
    let inv = 1 / sum
    for i in 0..<count { row[i] *= inv }
}

/// out = x - max - log(Σ exp(x - max)), as torch's log_softmax.
@inline(__always)
public func logSoftmaxRow(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for i in 0..<count { m = max(m, x[i]) }
    var sum: Double = 0
    for i in 0..<count { sum += Double(expf(x[i] - m)) }
    let lse = Float(log(sum))
    for i in 0..<count { out[i] = x[i] - m - lse }
}
