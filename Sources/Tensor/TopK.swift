// Host-side selection over a step's vocabulary rows (Sources/CKernels/topk.c): log-softmax's two constants and a
// top-k list that scans a row forming each value on the fly, so a decode step's choice reads the logits without
// writing a row of log-probabilities.

import CKernels

/// The best `k` (value, index) pairs offered, best first: the larger value, then the lower index (torch.topk's
/// order as transformers' beam search sees it; with k = 1, argmax's first maximum). The result does not depend
/// on the order of the offers.
public struct TopKList: Sendable {
    public let k: Int
    private var entries: [brv_candidate]
    public private(set) var count = 0

    public init(k: Int) {
        self.k = max(k, 0)
        entries = Array(repeating: brv_candidate(value: 0, index: 0), count: max(k, 1))
    }

    /// Empties the list (its storage is kept).
    public mutating func removeAll() { count = 0 }

    public subscript(i: Int) -> (value: Float, index: Int) {
        (entries[i].value, Int(entries[i].index))
    }

    public var values: [Float] { (0..<count).map { entries[$0].value } }
    public var indices: [Int] { (0..<count).map { Int(entries[$0].index) } }

    public mutating func offer(_ value: Float, index: Int) {
        let k = self.k
        entries.withUnsafeMutableBufferPointer { brv_topk_offer(value, Int64(index), $0.baseAddress, k, &count) }
    }

    /// Offers base + ((row[t] - max) - lse) with index offset + t for every t in 0..<count not in `skipping`
    /// (ascending). With max = lse = 0 that is log-softmax's output given its constants (`logSoftmaxShift`), or
    /// the row itself with base = 0 too.
    public mutating func scan(_ row: UnsafePointer<Float>, count n: Int, max: Float = 0, lse: Float = 0,
                              base: Float = 0, skipping: [Int] = [], offset: Int = 0, tier: CPUTier = .process) {
        let k = self.k
        entries.withUnsafeMutableBufferPointer { top in
            skipping.withUnsafeBufferPointer { skip in
                skip.withMemoryRebound(to: Int64.self) { skip in
                    brv_topk_scan(tier.rawValue, row, n, max, lse, base, skip.baseAddress, skip.count, Int64(offset),
                                  top.baseAddress, k, &count)
                }
            }
        }
    }
}

/// log-softmax's constants over a row: `logSoftmaxRow` writes exactly (x[i] - max) - lse.
@inline(__always)
public func logSoftmaxShift(_ x: UnsafePointer<Float>, count: Int, tier: CPUTier = .process) -> (max: Float, lse: Float) {
    var m: Float = 0, lse: Float = 0
    brv_log_softmax_shift(tier.rawValue, x, count, &m, &lse)
    return (m, lse)
}
