// A decode step's token choice as a backend op (`Backend.chooseTokens`): for each requested row of a
// step's logits, log-softmax's constants and the best k candidates over the tokens the logits processors
// leave alone, plus the raw logits of those they touch. A GPU backend runs it on the device, so a step sends
// the host k candidates a row instead of V logits; the host implementation below is the reference
// (DecodingBatch's own host path forms the same values: topk.c). A GPU computes the row's max and lse itself,
// so its values may differ from the host's in the last bits; given those constants it picks the same
// candidates. NaN logits have no order (the host's vector and scalar scans differ on them too).

/// One row of a step's token choice.
public struct ChoiceRequest: Sendable, Equatable {
    /// The logits row.
    public var row: Int
    /// Candidates' values are base + ((x - max) - lse) (beam search's running score plus the log-softmax),
    /// else the raw logits x (greedy's argmax; base 0).
    public var logSoftmax: Bool
    public var base: Float
    /// Token ids, ascending and distinct, that the host processes itself: left out of the candidates, their
    /// raw logits returned.
    public var touched: [Int]

    public init(row: Int, logSoftmax: Bool, base: Float, touched: [Int]) {
        self.row = row
        self.logSoftmax = logSoftmax
        self.base = base
        self.touched = touched
    }
}

public struct ChoiceResult: Sendable, Equatable {
    /// The row's maximum and log Σ exp(x - max): log-softmax is (x - max) - lse.
    public var max: Float
    public var lse: Float
    /// The best min(k, V - touched) candidates, best first: larger value, then lower token id (TopKList's order).
    public var values: [Float]
    public var indices: [Int]
    /// The raw logit of each touched token, in the request's order.
    public var touchedLogits: [Float]

    public init(max: Float, lse: Float, values: [Float], indices: [Int], touchedLogits: [Float]) {
        self.max = max
        self.lse = lse
        self.values = values
        self.indices = indices
        self.touchedLogits = touchedLogits
    }
}

/// The host's token choice over `logits` [rows, V], as `Backend.chooseTokens` defines it.
public func hostChooseTokens(_ logits: Tensor, rows: [ChoiceRequest], k: Int) -> [ChoiceResult] {
    let v = logits.columns
    checkChoiceRequests(rows, logitsRows: logits.rows, vocabulary: v)
    return logits.withHostFloats { all in
        rows.map { r in
            let row = all.baseAddress! + r.row * v
            let (m, lse) = logSoftmaxShift(row, count: v)
            var top = TopKList(k: k)
            top.scan(row, count: v, max: r.logSoftmax ? m : 0, lse: r.logSoftmax ? lse : 0, base: r.base, skipping: r.touched)
            return ChoiceResult(max: m, lse: lse, values: top.values, indices: top.indices, touchedLogits: r.touched.map { row[$0] })
        }
    }
}

/// Rows inside the logits, touched ids inside the vocabulary, ascending and distinct (callers build them
/// from checked state: these guard the kernels against a bug).
func checkChoiceRequests(_ rows: [ChoiceRequest], logitsRows: Int, vocabulary v: Int) {
    for r in rows {
        require(r.row >= 0 && r.row < logitsRows, "chooseTokens: row \(r.row) of \(logitsRows)")
        var last = -1
        for t in r.touched {
            require(t > last && t < v, "chooseTokens: touched ids must ascend inside [0, \(v)): \(r.touched)")
            last = t
        }
    }
}
