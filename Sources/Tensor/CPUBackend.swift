// The CPU backend: host memory; projections through the C kernels (decode-shaped products, any weight
// type) or, for many rows, oneDNN (MatrixLibrary) where it opens and passes its check, else OpenBLAS
// `cblas_sgemm` (float32 weights directly, others widened block by block).

import CBLAS
import CKernels
import Foundation

public final class CPUBackend: Backend, @unchecked Sendable {
    public static let shared = CPUBackend()
    public let name = "cpu"

    /// The kernels' instruction set: the CPU's best, or lower with `BREVITY_CPU_FEATURES` (an invalid value
    /// is reported by the commands at start-up through `CPUTier.fromSetting`).
    public var tier: CPUTier
    /// The rows one sweep of the weights takes on the decode tier (`brv_gemm_sweep_rows`: 7 on AVX2, else 4).
    public var nearlyFreeRows: Int { Int(brv_gemm_sweep_rows(tier.rawValue)) }

    /// Many-row products through oneDNN (nil: OpenBLAS). The portable tier, the reference of the checks, keeps
    /// to OpenBLAS.
    public var matrixLibrary: MatrixLibrary?

    /// The kernels' tier for the decode-shaped products of each weight type: `tier` for all when one was given,
    /// else CPUTier.productTiers.
    public var productTiers: [DType: CPUTier]

    public init(tier: CPUTier? = nil) {
        self.tier = tier ?? .process
        productTiers = tier.map { t in Dictionary(uniqueKeysWithValues: DType.allCases.map { ($0, t) }) }
            ?? CPUTier.productTiers.tiers
        matrixLibrary = self.tier == .portable ? nil : MatrixLibrary.process
        // One pool of threads for everything: OpenBLAS runs single-threaded inside our workers (`gemm`
        // splits large products by columns). Its own threads would spin-wait (sched_yield) after each call,
        // taking the cores from the decode kernels that follow.
        openblas_set_num_threads(1)
        // Buffers of up to 32 MiB (HostBufferPool's largest; a step's logits: rows x 50264 floats) come from the
        // heap: above glibc's default 128 KiB threshold each would be a fresh mmap, zeroed page by page
        // (clear_page was 10% of a bf16 decode), then unmapped. Weights (converted once) stay mmapped.
        _ = brv_heap_tune(32 << 20, 256 << 20)
    }

    /// The cores this process may use: its affinity, capped by a cgroup CPU quota (as the worker pool counts
    /// them), read once.
    public static let cores = Int(brv_cpu_count())

    /// Cores used by the kernels, BLAS included.
    public var threads = CPUBackend.cores

    /// Tensor buffers, recycled (HostBufferPool): a decode loop past its first steps allocates none.
    let buffers = HostBufferPool()

    /// Buffers obtained from the system by this backend's tensors, ever, and requests served from its free lists.
    public var bufferStatistics: (fresh: Int, reuses: Int) {
        let s = buffers.statistics
        return (s.fresh, s.reuses)
    }

    /// y: [n, ldy] columns 0..<m (beta: 0 overwrite, 1 accumulate) = x: [n, k] · w: [m, k]ᵀ, float32, split
    /// over the cores by output columns (blocks of 64), each part a single-threaded sgemm.
    func gemm(n: Int, m: Int, k: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>, beta: Float,
              y: UnsafeMutablePointer<Float>, ldy: Int) {
        let parts = n * m * k >= 1 << 21 ? min(threads, max(1, m / 64)) : 1
        let per = ((m + parts - 1) / parts + 63) & ~63
        let xs = UInt(bitPattern: x), ws = UInt(bitPattern: w), ys = UInt(bitPattern: y)
        Parallel.chunks(parts, grain: 1, threads: parts) { range in
            for p in range {
                let lo = p * per, cols = min(m, lo + per) - lo
                guard cols > 0 else { continue }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(cols), Int32(k), 1,
                            UnsafePointer<Float>(bitPattern: xs), Int32(k), UnsafePointer<Float>(bitPattern: ws)! + lo * k,
                            Int32(k), beta, UnsafeMutablePointer<Float>(bitPattern: ys)! + lo, Int32(ldy))
            }
        }
    }
    /// Attention spans with fewer score multiply-adds per head (nq · nk · d) run one head per core;
    /// OpenBLAS keeps products this small on the calling thread.
    static let smallAttention = 1 << 16
    /// Decode-shaped products through `SkinnyGEMM` (switch off to compare with BLAS).
    nonisolated(unsafe) public static var skinnyEnabled = true
    /// Weight rows widened to float32 per BLAS call when a non-f32 weight meets many activation rows.
    static let widenBlock = 256

    // MARK: memory

    public func allocate(count: Int, zeroed: Bool) -> TensorStorage {
        allocate(count: count, dtype: .f32, zeroed: zeroed)
    }

    func allocate(count: Int, dtype: DType, zeroed: Bool, scales: TensorStorage? = nil) -> TensorStorage {
        let bytes = max(count * dtype.byteSize, 4)
        let (p, capacity) = buffers.take(bytes)
        if zeroed { p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        let pool = buffers
        return TensorStorage(backend: self, pointer: p, count: count, dtype: dtype, scales: scales,
                             release: { pool.give($0, capacity: capacity) })
    }

    public func upload(_ values: UnsafeBufferPointer<Float>) -> TensorStorage {
        let s = allocate(count: values.count, zeroed: false)
        if let base = values.baseAddress { s.floats.update(from: base, count: values.count) }
        return s
    }

    public func download(_ tensor: Tensor) -> [Float] {
        let s = tensor.storage, c = tensor.columns
        if s.dtype == .f32 { return Array(UnsafeBufferPointer(start: s.floats, count: tensor.count)) }
        return [Float](unsafeUninitializedCapacity: tensor.count) { buf, n in
            if tensor.count > 0 { for r in 0..<tensor.rows { widenRow(s, r, columns: c, into: buf.baseAddress! + r * c) } }
            n = tensor.count
        }
    }

    /// Row `row` of a [rows, columns] weight storage as float32 (int8: times its group scales).
    @inline(__always)
    func widenRow(_ s: TensorStorage, _ row: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        s.dtype.widen(s.pointer + row * columns * s.dtype.byteSize, count: columns, into: out,
                      scales: s.scales.map { UnsafePointer($0.floats) + row * DType.int8Groups(columns: columns) })
    }

    public func heldType(_ requested: DType) -> DType { requested }

    public func weight(from source: UnsafeRawPointer, type sourceType: DType, rows: Int, columns: Int, as target: DType,
                       owner: AnyObject) -> TensorStorage {
        let count = rows * columns
        // the mapped bytes themselves when nothing changes (aligned for the kernels' element loads); the
        // owner (a mapped file) is retained by the release closure, and weights are never written in place
        if sourceType == target, target != .int8, Int(bitPattern: source) % target.byteSize == 0 {
            return TensorStorage(backend: self, pointer: UnsafeMutableRawPointer(mutating: source), count: count,
                                 dtype: target, release: { _ in withExtendedLifetime(owner) {} })
        }
        let scales = target == .int8 ? allocate(count: rows * DType.int8Groups(columns: columns), zeroed: false) : nil
        let out = allocate(count: count, dtype: target, zeroed: false, scales: scales)
        Self.convertRows(source, type: sourceType, rows: rows, columns: columns, into: out.pointer, as: target,
                         scales: scales?.floats, threads: threads)
        return out
    }

    /// A [rows, columns] matrix of `type` at `source` (any alignment) written as `target` at `destination`:
    /// widened, narrowed, or quantized per row into `scales` ([rows, groups]) for int8; row by row through a
    /// float32 row buffer, rows split over `threads` cores. The CUDA backend converts on the host with it too.
    static func convertRows(_ source: UnsafeRawPointer, type: DType, rows: Int, columns: Int,
                            into destination: UnsafeMutableRawPointer, as target: DType,
                            scales: UnsafeMutablePointer<Float>?, threads: Int) {
        require(target != .int8 || scales != nil, "convertRows: int8 needs its scales")
        let groups = DType.int8Groups(columns: columns)
        let src = UInt(bitPattern: source), dst = UInt(bitPattern: destination)
        let sc = scales.map { UInt(bitPattern: $0) }
        Parallel.chunks(rows, grain: max(1, (1 << 16) / max(columns, 1)), threads: threads) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(columns, 1))
            defer { row.deallocate() }
            for r in range {
                let s = UnsafeRawPointer(bitPattern: src)! + r * columns * type.byteSize
                let d = UnsafeMutableRawPointer(bitPattern: dst)! + r * columns * target.byteSize
                if target == .f32 {   // straight into the output
                    type.widen(s, count: columns, into: d.assumingMemoryBound(to: Float.self))
                    continue
                }
                type.widen(s, count: columns, into: row)
                if target == .int8, let sc {
                    quantizeRow(row, count: columns, into: d.assumingMemoryBound(to: Int8.self),
                                scales: UnsafeMutablePointer<Float>(bitPattern: sc)! + r * groups)
                } else {
                    target.narrow(row, count: columns, into: d)
                }
            }
        }
    }

    public func copy(_ storage: TensorStorage, count: Int) -> TensorStorage {
        let scales = storage.scales.map { copy($0, count: $0.count) }
        let s = allocate(count: count, dtype: storage.dtype, zeroed: false, scales: scales)
        s.pointer.copyMemory(from: storage.pointer, byteCount: count * storage.dtype.byteSize)
        return s
    }

    public func copyRows(from source: Tensor, row sourceRow: Int, into destination: TensorStorage, row: Int,
                         rows: Int, width: Int) {
        require(source.dtype == .f32 && destination.dtype == .f32, "copyRows: float32 only")
        (destination.floats + row * width).update(from: source.storage.floats + sourceRow * width, count: rows * width)
    }

    private func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: allocate(count: shape.reduce(1, *), zeroed: false))
    }

    // MARK: ops

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let k = x.columns, n = x.rows, m = weight.shape[0], wt = weight.dtype
        require(weight.rank == 2 && weight.shape[1] == k, "linear: x \(x.shape) vs weight \(weight.shape)")
        require(x.dtype == .f32 && bias?.dtype ?? .f32 == .f32, "linear: float32 activations and bias")
        var outShape = x.shape
        outShape[outShape.count - 1] = m
        let y = empty(outShape)
        let yp = y.storage.floats
        guard n > 0 else { return y }
        if let bias { require(bias.count == m, "linear: bias of \(bias.count) for \(m) outputs") }
        let skinny = CPUBackend.skinnyEnabled
            && (wt == .f32 ? n <= SkinnyGEMM.maxRows && m * k >= SkinnyGEMM.minWeights : n <= SkinnyGEMM.maxRowsWidened)
        if skinny {
            SkinnyGEMM.run(tier: productTiers[wt] ?? tier, x: x.storage.floats, m: n, k: k, w: weight.storage.pointer, dtype: wt,
                           scales: weight.storage.scales?.floats, n: m, bias: bias?.storage.floats, y: yp,
                           threads: threads)
            return y
        }
        if let library = matrixLibrary,
           library.linear(rows: n, k: k, n: m, x: x.storage.floats, weight: weight.storage, bias: bias?.storage.floats,
                          y: yp, backend: self) {
            return y
        }
        var beta: Float = 0
        if let bias {
            let bp = bias.storage.floats
            for r in 0..<n { (yp + r * m).update(from: bp, count: m) }
            beta = 1
        }
        if wt == .f32 {
            gemm(n: n, m: m, k: k, x: x.storage.floats, w: weight.storage.floats, beta: beta, y: yp, ldy: m)
            return y
        }
        // many rows against a narrow weight: each worker widens `widenBlock` weight rows at a time into its
        // own scratch, then a single-threaded sgemm of those columns
        let block = Self.widenBlock, blocks = (m + block - 1) / block, workers = min(threads, blocks)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * k * workers)
        defer { scratch.deallocate() }
        let xs = x.storage.floats, w = weight.storage
        Parallel.strided(blocks, workers: workers) { worker, b in
            let j = b * block, rows = min(block, m - j), dst = scratch + worker * block * k
            for r in 0..<rows { widenRow(w, j + r, columns: k, into: dst + r * k) }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(k), 1,
                        xs, Int32(k), dst, Int32(k), beta, yp + j, Int32(m))
        }
        return y
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        require(a.count == b.count && a.dtype == .f32 && b.dtype == .f32, "add: \(a.shape) \(a.dtype) vs \(b.shape) \(b.dtype)")
        let y = empty(a.shape)
        let ap = a.storage.floats, bp = b.storage.floats, yp = y.storage.floats
        for i in 0..<a.count { yp[i] = ap[i] + bp[i] }
        return y
    }

    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        require(a.count == b.count && a.dtype == .f32 && b.dtype == .f32, "multiply: \(a.shape) \(a.dtype) vs \(b.shape) \(b.dtype)")
        let y = empty(a.shape)
        let ap = a.storage.floats, bp = b.storage.floats, yp = y.storage.floats
        for i in 0..<a.count { yp[i] = ap[i] * bp[i] }
        return y
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
        let c = x.columns, n = x.rows
        require(weight.count == c, "rmsNorm: weight vs width \(c)")
        require(x.dtype == .f32 && weight.dtype == .f32, "rmsNorm: float32 only")
        let y = empty(x.shape)
        let xp = x.storage.floats, yp = y.storage.floats, w = weight.storage.floats
        Parallel.chunks(n, grain: max(1, (1 << 13) / max(c, 1)), threads: threads) { rows in
            for r in rows {
                let row = xp + r * c, out = yp + r * c
                var sq: Double = 0
                for i in 0..<c { sq += Double(row[i]) * Double(row[i]) }
                // transformers: x * torch.rsqrt(variance + eps), then weight * x (float32)
                let rstd = Float(1 / (sq / Double(c) + Double(eps)).squareRoot())
                for i in 0..<c { out[i] = w[i] * (row[i] * rstd) }
            }
        }
        return y
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let c = x.columns, n = x.rows
        require(weight.count == c && bias.count == c, "layerNorm: weight/bias vs width \(c)")
        require(x.dtype == .f32 && weight.dtype == .f32 && bias.dtype == .f32, "layerNorm: float32 only")
        let y = empty(x.shape)
        let xp = x.storage.floats, yp = y.storage.floats, w = weight.storage.floats, b = bias.storage.floats
        // rows split over the cores (each row's sums as in the serial loop): 37 per bart-large-cnn step
        Parallel.chunks(n, grain: max(1, (1 << 13) / max(c, 1)), threads: threads) { rows in
            for r in rows {
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
        }
        return y
    }

    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        require(x.dtype == .f32, "activation: float32 only")
        let y = empty(x.shape)
        let xp = x.storage.floats, yp = y.storage.floats
        Parallel.chunks(x.count, grain: 1 << 14, threads: threads) { r in
            switch kind {
            case .gelu:
                brv_gelu(tier.rawValue, xp + r.lowerBound, yp + r.lowerBound, r.count)
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
        let yp = y.storage.floats
        for (r, id) in ids.enumerated() {
            // ids are checked against the vocabulary with errors at the API boundary (DecodingBatch.add,
            // SummarizationEngine.inputIds); this trap (kept by -Ounchecked) only guards against a bug
            require(id >= 0 && id < v, "embedding: id \(id) outside [0, \(v))")
            let out = yp + r * c
            widenRow(table.storage, id, columns: c, into: out)
            if scale != 1 { for i in 0..<c { out[i] *= scale } }
        }
        return y
    }

    public func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor {
        require(x.dtype == .f32 && rows.allSatisfy { $0 >= 0 && $0 < x.rows }, "gatherRows: float32 rows inside the matrix")
        let c = x.columns
        let y = empty([rows.count, c])
        for (r, src) in rows.enumerated() {
            (y.storage.floats + r * c).update(from: x.storage.floats + src * c, count: c)
        }
        return y
    }

    public func logSoftmax(_ x: Tensor) -> Tensor {
        require(x.dtype == .f32, "logSoftmax: float32 only")
        let c = x.columns, n = x.rows
        let y = empty(x.shape)
        for r in 0..<n {
            logSoftmaxRow(x.storage.floats + r * c, into: y.storage.floats + r * c, count: c, tier: tier)
        }
        return y
    }

    public func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int,
                          scale: Float, bias: RelativePositionBias?) -> Tensor {
        let width = query.columns, d = width / heads
        require(d * heads == width, "attention: width \(width) not divisible by \(heads) heads")
        require(bias.map { $0.table.rows == heads && $0.table.dtype == .f32 } ?? true, "attention: relative bias table is not [\(heads), 2r+1] float32")
        let biasTable = bias?.table.storage.floats, radius = bias?.radius ?? 0
        require(query.dtype == .f32 && keys.allSatisfy { $0.dtype == .f32 } && values.allSatisfy { $0.dtype == .f32 },
                "attention: float32 only")
        let out = empty(query.shape)
        let qp = query.storage.floats, op = out.storage.floats
        // Single query rows (decoder steps): the fused kernel, one unit per set of rows over the same keys (a
        // text's beams in cross-attention; or per group of heads when there are fewer sets than cores), reading
        // each cached row once for the unit's rows and heads. Other small
        // spans (short sentences): one unit per (span, head) on each core, OpenBLAS running each tiny product
        // on the calling thread. Large spans (long inputs): every head's scores by BLAS (which threads large
        // products itself), the softmax rows split over the cores, then every head's output. Each head's
        // arithmetic is the same whatever shares its call.
        let decode = spans.filter { $0.queryCount == 1 }
        // decode rows over the same keys (a text's beams in cross-attention) share one pass over them
        var sharedKeys: [(span: AttentionSpan, rows: [Int])] = [], groupOf: [SIMD3<Int>: Int] = [:]
        for span in decode {
            let key = SIMD3(span.keyIndex, span.keyStart, span.keyCount)
            if let g = groupOf[key] {
                sharedKeys[g].rows.append(span.queryStart)
            } else {
                groupOf[key] = sharedKeys.count
                sharedKeys.append((span, [span.queryStart]))
            }
        }
        let isSmall = { (s: AttentionSpan) in s.queryCount * s.keyCount * d < Self.smallAttention }
        let small = spans.filter { $0.queryCount > 1 && isSmall($0) }
        let large = spans.filter { $0.queryCount > 1 && !isSmall($0) }
        let units = small.indices.flatMap { i in (0..<heads).map { (span: i, head: $0) } }
        let unitFlops = small.reduce(0) { $0 + $1.queryCount * $1.keyCount } * width
        let workers = unitFlops >= 1 << 18 ? min(threads, units.count) : 1
        let smallSize = small.map { $0.queryCount * $0.keyCount }.max() ?? 0
        let largeSize = (large.map { $0.queryCount * $0.keyCount }.max() ?? 0) * heads
        let groups = sharedKeys.count >= 2 * threads ? 1 : min(heads, 2 * threads), perGroup = (heads + groups - 1) / groups
        let decodeFlops = decode.reduce(0) { $0 + $1.keyCount } * width
        let decodeWorkers = decodeFlops >= 1 << 16 ? min(threads, sharedKeys.count * groups) : 1
        let decodeSize = heads * (decode.map(\.keyCount).max() ?? 0) * (sharedKeys.map(\.rows.count).max() ?? 0)
        // this thread's scratch (no allocation once the first steps have run), else a fresh block
        let need = max(1, smallSize * workers, largeSize, decodeSize * decodeWorkers)
        let reused = brv_thread_scratch(Int32(BRV_SCRATCH_ATTENTION), need * 4)?.assumingMemoryBound(to: Float.self)
        let scratch = reused ?? UnsafeMutablePointer<Float>.allocate(capacity: need)
        defer { if reused == nil { scratch.deallocate() } }

        let tier = self.tier.rawValue
        /// scores: [nq, nk] = scale · q_h · k_hᵀ into `s` (nq > 1)
        func scores(_ span: AttentionSpan, _ h: Int, _ s: UnsafeMutablePointer<Float>) {
            let nq = span.queryCount, nk = span.keyCount
            let q = qp + span.queryStart * width + h * d
            let k = keys[span.keyIndex].storage.floats + span.keyStart * width + h * d
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(d), scale,
                        q, Int32(width), k, Int32(width), 0, s, Int32(nk))
        }
        /// softmax of score row j of head h (causal spans see the keys up to their own position), after
        /// the relative position bias when there is one
        func normalize(_ span: AttentionSpan, head h: Int, row j: Int, _ row: UnsafeMutablePointer<Float>) {
            let nk = span.keyCount
            let visible = span.causal ? nk - span.queryCount + j + 1 : nk
            if let table = biasTable {
                let position = nk - span.queryCount + j, b = table + h * (2 * radius + 1) + radius
                for k in 0..<visible { row[k] += b[min(max(k - position, -radius), radius)] }
            }
            brv_softmax(tier, row, visible)   // as the decode kernel computes it on this tier
            for i in visible..<nk { row[i] = 0 }
        }
        /// out_h: [nq, d] = p · v_h (nq > 1)
        func weighted(_ span: AttentionSpan, _ h: Int, _ s: UnsafeMutablePointer<Float>) {
            let nq = span.queryCount, nk = span.keyCount
            let o = op + span.queryStart * width + h * d
            let v = values[span.keyIndex].storage.floats + span.keyStart * width + h * d
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(d), Int32(nk), 1,
                        s, Int32(nk), v, Int32(width), 0, o, Int32(width))
        }

        for span in spans {
            require(keys[span.keyIndex].columns == width && span.keyStart + span.keyCount <= keys[span.keyIndex].rows, "attention: span outside its keys")
        }
        Parallel.strided(sharedKeys.count * groups, workers: decodeWorkers) { w, u in
            let (span, rows) = sharedKeys[u / groups]
            let h0 = (u % groups) * perGroup, h1 = min(heads, h0 + perGroup)
            guard h0 < h1 else { return }
            let keyRow = span.keyStart * width, nk = span.keyCount
            brv_attend_rows(tier, rows.count, rows, width, qp, keys[span.keyIndex].storage.floats + keyRow,
                            values[span.keyIndex].storage.floats + keyRow, width, nk, d, h0, h1, scale, biasTable,
                            2 * radius + 1, radius, nk - 1, op, scratch + w * decodeSize)
        }
        Parallel.strided(units.count, workers: workers) { w, u in
            let span = small[units[u].span], h = units[u].head
            let s = scratch + w * smallSize
            scores(span, h, s)
            for j in 0..<span.queryCount { normalize(span, head: h, row: j, s + j * span.keyCount) }
            weighted(span, h, s)
        }
        for span in large {
            // BLAS is single-threaded (init): heads split over the cores
            let nq = span.queryCount, nk = span.keyCount
            Parallel.strided(heads, workers: threads) { _, h in scores(span, h, scratch + h * nq * nk) }
            Parallel.chunks(heads * nq, grain: max(1, (1 << 14) / nk), threads: threads) { rows in
                for r in rows { normalize(span, head: r / nq, row: r % nq, scratch + r * nk) }
            }
            Parallel.strided(heads, workers: threads) { _, h in weighted(span, h, scratch + h * nq * nk) }
        }
        return out
    }
}

/// out = x - max - log(Σ exp(x - max)), as torch's log_softmax (the sum in double; `tier`: the process's
/// tier unless told).
@inline(__always)
public func logSoftmaxRow(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                          tier: CPUTier = .process) {
    brv_log_softmax(tier.rawValue, x, out, count)
}
