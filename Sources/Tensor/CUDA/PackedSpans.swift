// The attention kernel's view of `AttentionSpan`s (CUDAKernelSource.swift, `attention`): a table of 6
// int32 per span (queryStart, queryCount, keyIndex, keyStart, keyCount, causal) and, for every packed
// query row, the span it belongs to. Checked here, on the host, so the kernel can trust its indices.

public struct PackedSpans: Sendable, Equatable {
    public let table: [Int32]
    public let rowSpan: [Int32]
    /// The most keys any row sees: the kernel's shared memory is sized for it.
    public let maxKeys: Int

    /// `queryRows`: rows of the packed query; `keyRows[i]`: rows of keys[i] / values[i].
    public init(_ spans: [AttentionSpan], queryRows: Int, keyRows: [Int]) throws {
        var table: [Int32] = []
        var rowSpan = [Int32](repeating: -1, count: queryRows)
        var maxKeys = 0
        for (i, s) in spans.enumerated() {
            guard s.queryCount > 0, s.queryStart >= 0, s.queryStart + s.queryCount <= queryRows else {
                throw CUDAError.unusable("attention span \(i): query rows \(s.queryStart)..<\(s.queryStart + s.queryCount) outside \(queryRows)")
            }
            guard s.keyIndex >= 0, s.keyIndex < keyRows.count, s.keyStart >= 0, s.keyCount > 0,
                  s.keyStart + s.keyCount <= keyRows[s.keyIndex] else {
                throw CUDAError.unusable("attention span \(i): keys \(s.keyStart)..<\(s.keyStart + s.keyCount) of key set \(s.keyIndex) out of range")
            }
            guard !s.causal || s.queryCount <= s.keyCount else {
                throw CUDAError.unusable("attention span \(i): \(s.queryCount) causal queries over \(s.keyCount) keys")
            }
            for r in s.queryStart..<(s.queryStart + s.queryCount) {
                guard rowSpan[r] < 0 else { throw CUDAError.unusable("attention spans overlap at query row \(r)") }
                rowSpan[r] = Int32(i)
            }
            table += [s.queryStart, s.queryCount, s.keyIndex, s.keyStart, s.keyCount, s.causal ? 1 : 0].map { Int32($0) }
            maxKeys = max(maxKeys, s.keyCount)
        }
        if let r = rowSpan.firstIndex(of: -1) { throw CUDAError.unusable("attention: query row \(r) is in no span") }
        self.table = table
        self.rowSpan = rowSpan
        self.maxKeys = maxKeys
    }
}
