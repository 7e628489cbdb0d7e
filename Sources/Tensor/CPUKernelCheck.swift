// The CPU kernels of one instruction-set tier checked at run time, on the machine at hand: every weight
// type's products against a Double reference on odd shapes, a row's result equal alone and in a batch, and
// the backend's other ops against the portable tier (BackendSelfTest). The test suite runs it for the tiers
// this CPU has; `brevity cpu-check` runs it anywhere the binary runs, which is how the `avx512` tier (opt-in,
// CPUTier.detected) gets verified on a CPU that has it (scripts/gpu-check.sh runs it on the GPU machine).

import Foundation

public struct CPUKernelCheck: Sendable {
    /// One check of one tier: `error` against `bound` (passes when error <= bound).
    public struct Line: Sendable, CustomStringConvertible {
        public let tier: CPUTier
        public let check: String
        public let error: Double
        public let bound: Double
        public let detail: String
        public var passed: Bool { error <= bound }   // NaN fails
        public var description: String {
            "\(tier.name) \(check): \(detail) \(passed ? "ok" : "FAILED")"
        }
    }

    /// y = x · wᵀ + bias on `backend` (x [m, k], w [n, k] of any type): the product under test. The tests
    /// substitute a wrong one to show the check fails.
    public typealias Product = @Sendable (_ backend: CPUBackend, _ x: Tensor, _ w: Tensor, _ bias: Tensor) -> Tensor

    /// (m, k, n): tails of 1..15 elements, edge blocks of 1..3 rows, several k-blocks of the many-row path.
    static let shapes = [(1, 1, 1), (1, 17, 5), (2, 7, 3), (3, 33, 7), (4, 100, 9), (5, 31, 13), (7, 64, 257),
                         (13, 129, 6), (16, 15, 4), (9, 1100, 19), (32, 520, 11)]

    public let product: Product

    public init(product: @escaping Product = { _, x, w, bias in x.linear(w, bias: bias) }) {
        self.product = product
    }

    /// Every check of `tier` for the weight types `types` (the ops and many-row lines with `everything`); a
    /// tier above what this CPU supports is refused (its instructions would fault). It changes no global.
    public func run(tier: CPUTier, types: [DType] = DType.allCases, everything: Bool = true) throws -> [Line] {
        guard tier <= CPUTier.supported else {
            throw TensorError.invalid("cpu-check: this CPU supports \(CPUTier.supported.name) at most, not \(tier.name)")
        }
        let backend = CPUBackend(tier: tier)
        var rng = SplitMix(seed: 0xC0DE)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        var lines: [Line] = []
        for type in types {
            // products against Double over the weights as stored (widened, times their scales): relative to
            // Σ|terms|, float32 accumulation of k products stays well under k · 2^-24; bound k · 1e-6
            var worst = 0.0
            for (m, k, n) in Self.shapes {
                let x = values(m * k), bias = values(n)
                let w = Self.weight(values(n * k), rows: n, columns: k, type, on: backend)
                let stored = w.toArray()
                let y = product(backend, Tensor(x, shape: [m, k], on: backend), w, Tensor(bias, shape: [n], on: backend)).toArray()
                let e = Self.relativeError(x: x, w: stored, bias: bias, y: y, m: m, k: k, n: n) / (1e-6 * Double(max(k, 8)))
                worst = e.isNaN ? .nan : max(worst, e)
                if worst.isNaN { break }
            }
            lines.append(Line(tier: tier, check: "\(type.userName) products", error: worst, bound: 1,
                              detail: "\(Self.shapes.count) shapes against Double, worst error \(Self.format(worst)) of its bound"))

            // a row's result alone equals its row in a batch, bit for bit: k 1100 (three
            // k-blocks, a tail), 300 weight rows (three chunks), 16 rows (the many-row path), and the first
            // 2 to 7 rows (one sweep of the weights, AVX2's widest)
            let (k, n, rows) = (1100, 300, 16)
            let w = Self.weight(values(n * k), rows: n, columns: k, type, on: backend)
            let bias = Tensor(values(n), shape: [n], on: backend), x = values(rows * k)
            // (330,000 weights: above SkinnyGEMM.minWeights, so float32 takes the kernels too)
            let batches = [rows] + (2...7).reversed()
            let together = batches.map { m in product(backend, Tensor(Array(x[0..<m * k]), shape: [m, k], on: backend), w, bias).toArray() }
            var differing = zip(batches, together).allSatisfy { $1.count == $0 * n } ? 0 : rows
            if differing == 0 {
                for r in 0..<rows {
                    let alone = product(backend, Tensor(Array(x[r * k..<(r + 1) * k]), shape: [1, k], on: backend), w, bias).toArray()
                    if zip(batches, together).contains(where: { m, y in r < m && alone != Array(y[r * n..<(r + 1) * n]) }) { differing += 1 }
                }
            }
            lines.append(Line(tier: tier, check: "\(type.userName) rows alone and batched", error: Double(differing), bound: 0,
                              detail: "\(differing) of \(rows) rows differ"))
        }
        guard everything else { return lines }
        if let library = backend.matrixLibrary?.taking(float32: true, because: "every type forced by the check") {
            let forced = CPUBackend(tier: tier)
            forced.matrixLibrary = library
            lines += manyRowChecks(library, forced, tier: tier, values)
        }
        // the other ops (norms, activations, attention, embeddings, log-softmax) against the portable tier
        do {
            let results = try BackendSelfTest(type: .f32).run(backend, reference: CPUBackend(tier: .portable))
            let worst = results.map(\.error).max() ?? 0
            lines.append(Line(tier: tier, check: "ops", error: worst, bound: 1e-5,
                              detail: "\(results.count) against the portable tier, worst normalized error \(Self.format(worst))"))
        } catch let m as BackendSelfTest.Mismatch {
            lines.append(Line(tier: tier, check: "ops", error: m.error.isNaN ? .nan : m.error, bound: m.tolerance, detail: "\(m)"))
        }
        return lines
    }

    /// Products past SkinnyGEMM's rows, which go to oneDNN (MatrixLibrary): every weight type against Double
    /// over the stored weights (bfloat16-rounded activations where the library takes bfloat16 natively: bound
    /// 2^-8 of Σ|terms|), and a row's result the same in batches that put it at other places of its tiles.
    func manyRowChecks(_ library: MatrixLibrary, _ backend: CPUBackend, tier: CPUTier, _ values: (Int) -> [Float]) -> [Line] {
        var lines: [Line] = []
        let tile = MatrixLibrary.largestTile, many = SkinnyGEMM.maxRows + 1
        for type in DType.allCases {
            let native = library.nativeTypes.contains(type) && type != .f32
            var worst = 0.0
            for (m, k, n) in [(many, 33, 17), (tile + 5, 100, 45), (2 * tile + 3, 520, 11)] {
                let x = values(m * k), bias = values(n)
                let w = Self.weight(values(n * k), rows: n, columns: k, type, on: backend)
                let stored = w.toArray()
                let seen = native ? x.map(bfloat16Rounded) : x
                let y = product(backend, Tensor(x, shape: [m, k], on: backend), w, Tensor(bias, shape: [n], on: backend)).toArray()
                let e = Self.relativeError(x: seen, w: stored, bias: bias, y: y, m: m, k: k, n: n)
                    / (native ? 1.0 / 256 : 1e-6 * Double(max(k, 8)))
                worst = e.isNaN ? .nan : max(worst, e)
                if worst.isNaN { break }
            }
            lines.append(Line(tier: tier, check: "\(type.userName) many-row products",
                              error: worst, bound: 1, detail: "\(library.describe(type)): 3 shapes against Double, worst error \(Self.format(worst)) of its bound"))
            // rows 0..<2·tile+9 together, then windows starting 1, 37 and tile - 1 rows on: each row's result unchanged
            let (k, n, rows) = (300, 70, 2 * tile + 9)
            let w = Self.weight(values(n * k), rows: n, columns: k, type, on: backend)
            let bias = Tensor(values(n), shape: [n], on: backend), x = values(rows * k)
            let together = product(backend, Tensor(x, shape: [rows, k], on: backend), w, bias).toArray()
            var differing = together.count == rows * n ? 0 : rows
            for start in [1, 37, tile - 1] where differing == 0 {
                let count = min(rows - start, tile + many)
                let part = product(backend, Tensor(Array(x[start * k..<(start + count) * k]), shape: [count, k], on: backend), w, bias).toArray()
                for r in 0..<count where part.count != count * n || Array(part[r * n..<(r + 1) * n]) != Array(together[(start + r) * n..<(start + r + 1) * n]) {
                    differing += 1
                }
            }
            lines.append(Line(tier: tier, check: "\(type.userName) many rows in other batches", error: Double(differing), bound: 0,
                              detail: "\(differing) rows differ (windows of \(tile + many) rows at 3 offsets)"))
        }
        return lines
    }

    /// The worst error of y = x · wᵀ + bias (x [m, k], w [n, k]) against the same sums in Double, each relative
    /// to its output's Σ|terms|; NaN when y is of another size or any error is NaN.
    static func relativeError(x: [Float], w: [Float], bias: [Float], y: [Float], m: Int, k: Int, n: Int) -> Double {
        guard y.count == m * n else { return .nan }
        var worst = 0.0
        for r in 0..<m {
            for c in 0..<n {
                var s = Double(bias[c]), magnitude = abs(Double(bias[c]))
                for i in 0..<k {
                    let p = Double(x[r * k + i]) * Double(w[c * k + i])
                    s += p
                    magnitude += abs(p)
                }
                let e = abs(Double(y[r * n + c]) - s) / (magnitude + 1e-30)
                if e.isNaN { return .nan }
                worst = max(worst, e)
            }
        }
        return worst
    }

    /// `values` as a [rows, columns] weight of `type` (float32: a copy of its own).
    static func weight(_ values: [Float], rows: Int, columns: Int, _ type: DType, on b: CPUBackend) -> Tensor {
        if type == .f32 { return Tensor(values, shape: [rows, columns], on: b) }
        let storage = values.withUnsafeBytes {
            b.weight(from: $0.baseAddress!, type: .f32, rows: rows, columns: columns, as: type, owner: NSObject())
        }
        return Tensor(shape: [rows, columns], storage: storage)
    }

    static func format(_ v: Double) -> String { v.isNaN ? "NaN" : String(format: "%.3g", v) }
}
