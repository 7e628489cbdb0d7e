// A row-wise top-k as a backend op (`Backend.topK`): for each requested row of a [rows, V] matrix, the
// row's max and log Σ exp, the best k entries (optionally log-softmax-shifted, plus an offset) over the
// columns not excluded, and the raw values of the excluded ones. A GPU backend runs it on the device, so
// only k candidates a row cross to the host; the host implementation below is the reference (topk.c). A GPU
// computes the row's max and lse itself, so its values may differ from the host's in the last bits; given
// those constants it picks the same entries. NaN has no order (the host's vector and scalar scans differ on
// it too). Decoding gives the meaning (Generation's DecodingBatch): a row is a beam's or a greedy text's
// logits, the offset a beam's running score, the excluded columns the tokens its logits processors change.

/// One row of a top-k.
public struct TopKRow: Sendable, Equatable {
    /// The row of the matrix.
    public var row: Int
    /// Entries' values are offset + ((x - max) - lse), the log-softmax shifted by `offset`; else the raw x
    /// (offset 0).
    public var logSoftmax: Bool
    public var offset: Float
    /// Columns, ascending and distinct, left out of the candidates; their raw values are returned.
    public var excluded: [Int]

    public init(row: Int, logSoftmax: Bool, offset: Float, excluded: [Int]) {
        self.row = row
        self.logSoftmax = logSoftmax
        self.offset = offset
        self.excluded = excluded
    }
}

public struct TopKRowResult: Sendable, Equatable {
    /// The row's maximum and log Σ exp(x - max): log-softmax is (x - max) - lse.
    public var max: Float
    public var lse: Float
    /// The best min(k, V - excluded) entries, best first: larger value, then lower column (TopKList's order).
    public var values: [Float]
    public var indices: [Int]
    /// The raw value of each excluded column, in the row's order.
    public var excludedValues: [Float]

    public init(max: Float, lse: Float, values: [Float], indices: [Int], excludedValues: [Float]) {
        self.max = max
        self.lse = lse
        self.values = values
        self.indices = indices
        self.excludedValues = excludedValues
    }
}

/// The host's top-k over `logits` [rows, V], as `Backend.topK` defines it.
public func hostTopK(_ logits: Tensor, rows: [TopKRow], k: Int) -> [TopKRowResult] {
    let v = logits.columns
    checkTopKRows(rows, logitsRows: logits.rows, vocabulary: v)
    return logits.withHostFloats { all in
        rows.map { r in
            let row = all.baseAddress! + r.row * v
            let (m, lse) = logSoftmaxShift(row, count: v)
            var top = TopKList(k: k)
            top.scan(row, count: v, max: r.logSoftmax ? m : 0, lse: r.logSoftmax ? lse : 0, base: r.offset, skipping: r.excluded)
            return TopKRowResult(max: m, lse: lse, values: top.values, indices: top.indices, excludedValues: r.excluded.map { row[$0] })
        }
    }
}

/// Rows inside the matrix, excluded columns inside its width, ascending and distinct (callers build them
/// from checked state: these guard the kernels against a bug).
func checkTopKRows(_ rows: [TopKRow], logitsRows: Int, vocabulary v: Int) {
    for r in rows {
        require(r.row >= 0 && r.row < logitsRows, "topK: row \(r.row) of \(logitsRows)")
        var last = -1
        for t in r.excluded {
            require(t > last && t < v, "topK: excluded columns must ascend inside [0, \(v)): \(r.excluded)")
            last = t
        }
    }
}
