// The contract between an encoder-decoder model and generation: encode once, then decode steps over
// explicit per-sequence state. Nothing here is hidden inside the model: a sequence's KV cache is a value
// (`DecoderCache`) that the caller owns, copies (beams), and drops.

import Tensor

/// One input after the encoder: its hidden states and, per decoder layer, the cross-attention keys and
/// values, computed once and shared (read-only) by every beam of that input.
public struct EncodedInput: @unchecked Sendable {
    public let length: Int
    public let hidden: Tensor          // [S, C]
    public let crossKeys: [Tensor]     // per decoder layer: [S, C]
    public let crossValues: [Tensor]   // per decoder layer: [S, C]

    public init(length: Int, hidden: Tensor, crossKeys: [Tensor], crossValues: [Tensor]) {
        self.length = length
        self.hidden = hidden
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }
}

/// One decoder sequence's self-attention keys and values: per layer a [capacity, C] matrix whose first
/// `length` rows are filled. A value type with copy-on-write storage: copying a cache (a beam that forks)
/// is free until one copy is written, which then copies only the filled rows.
public struct DecoderCache: @unchecked Sendable {
    public private(set) var length: Int = 0
    public private(set) var capacity: Int
    var keys: [Tensor]     // per layer: [capacity, C]
    var values: [Tensor]   // per layer: [capacity, C]

    public init(layers: Int, width: Int, capacity: Int, backend: any Backend) {
        self.capacity = max(capacity, 1)
        keys = (0..<layers).map { _ in Tensor.zeros([max(capacity, 1), width], on: backend) }
        values = (0..<layers).map { _ in Tensor.zeros([max(capacity, 1), width], on: backend) }
    }

    /// Decoder layers the cache holds keys and values for.
    public var layerCount: Int { keys.count }

    /// Bytes one position holds: a key and a value row per layer.
    public var bytesPerPosition: Int {
        zip(keys, values).reduce(0) { $0 + $1.0.columns * $1.0.dtype.byteSize + $1.1.columns * $1.1.dtype.byteSize }
    }

    /// Keys and values of layer `layer` (rows `0..<length` valid, plus rows written this step).
    public func layer(_ layer: Int) -> (keys: Tensor, values: Tensor) { (keys[layer], values[layer]) }

    /// Appends `count` rows of `k`/`v` (from `sourceRow`) after the committed rows of `layer`.
    /// Several layers are written before `commit(count)` advances `length`.
    public mutating func write(layer: Int, keys k: Tensor, values v: Tensor, sourceRow: Int, count: Int) {
        reserve(length + count)
        keys[layer].makeUnique(keepingRows: length)
        values[layer].makeUnique(keepingRows: length)
        keys[layer].setRows(at: length, from: k, sourceRow: sourceRow, rowCount: count)
        values[layer].setRows(at: length, from: v, sourceRow: sourceRow, rowCount: count)
    }

    public mutating func commit(_ count: Int) { length += count }

    /// Forgets the rows past `count` (a draft's positions that were not accepted); later writes overwrite
    /// them, and rows before `count` are untouched.
    public mutating func truncate(to count: Int) {
        require(count >= 0 && count <= length, "truncate: \(count) of \(length) rows")
        length = count
    }

    /// Becomes `source` (its filled rows) in this cache's own storage: a beam that continues another one
    /// takes over a dropped beam's cache, rows copied in place, instead of a fresh copy being allocated at
    /// its next write. When this storage is shared or too small it shares `source`'s (copy-on-write).
    public mutating func overwrite(with source: DecoderCache) {
        var own = capacity >= source.length && keys.count == source.keys.count
        for l in keys.indices where own {
            own = keys[l].holdsStorageAlone() && values[l].holdsStorageAlone()
                && keys[l].columns == source.keys[l].columns
        }
        guard own else { self = source; return }
        if source.length > 0 {
            for l in keys.indices {
                keys[l].setRows(at: 0, from: source.keys[l], sourceRow: 0, rowCount: source.length)
                values[l].setRows(at: 0, from: source.values[l], sourceRow: 0, rowCount: source.length)
            }
        }
        length = source.length
    }

    /// Grows every layer to hold at least `needed` rows (doubling).
    public mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2)
        for l in keys.indices {
            keys[l] = DecoderCache.grown(keys[l], rows: length, capacity: newCapacity)
            values[l] = DecoderCache.grown(values[l], rows: length, capacity: newCapacity)
        }
        capacity = newCapacity
    }

    private static func grown(_ t: Tensor, rows: Int, capacity: Int) -> Tensor {
        var fresh = Tensor(shape: [capacity, t.columns], storage: t.backend.allocate(count: capacity * t.columns, zeroed: false))
        if rows > 0 { fresh.setRows(at: 0, from: t, sourceRow: 0, rowCount: rows) }
        return fresh
    }
}

public protocol Seq2SeqModel: Sendable {
    var modelType: String { get }
    var vocabularySize: Int { get }
    /// Longest input (and decoder sequence) the learned positions allow (models with relative positions:
    /// Brevity's bound on a sequence).
    var maxPositions: Int { get }
    /// True for models without a position table (T5): their inputs are cut at the tokenizer's
    /// model_max_length instead of `maxPositions`.
    var positionsAreRelative: Bool { get }
    var backend: any Backend { get }

    /// Encodes unpadded inputs together (packed, no padding computed). inputs[i]: [S_i] token ids.
    func encode(_ inputs: [[Int]]) -> [EncodedInput]

    /// An empty decoder cache with room for `capacity` tokens (it grows when needed).
    func makeCache(capacity: Int) -> DecoderCache

    /// Runs new decoder tokens for every row at once: `tokens[i]` are appended to `caches[i]` and attend to
    /// `encoded[i]`. Returns logits [rows, V] at each row's last new token, or [Σ tokens, V] at every new
    /// token with `allPositions`.
    func decode(_ tokens: [[Int]], caches: inout [DecoderCache], encoded: [EncodedInput], allPositions: Bool) -> Tensor
}

public extension Seq2SeqModel {
    var positionsAreRelative: Bool { false }

    /// The longest input: the position table's, or for relative positions the tokenizer's
    /// model_max_length (transformers' truncation=True) when it has one.
    func maxInputTokens(tokenizerLimit: Int?) -> Int {
        guard positionsAreRelative, let limit = tokenizerLimit, limit > 0 else { return maxPositions }
        return min(limit, maxPositions)
    }
}

/// The packing every encoder-decoder shares (docs/architecture.md §1: inputs without padding).
enum Packing {
    /// One non-causal span per unpadded input over the packed rows [ΣS, C]. Lengths are checked with
    /// errors before they reach a model; this trap only guards against a bug.
    static func encoderSpans(_ inputs: [[Int]], limit: Int) -> [AttentionSpan] {
        var spans: [AttentionSpan] = []
        var start = 0
        for input in inputs {
            require(!input.isEmpty && input.count <= limit, "input of \(input.count) tokens (1...\(limit) allowed)")
            spans.append(AttentionSpan(queryStart: start, queryCount: input.count, keyIndex: 0, keyStart: start,
                                       keyCount: input.count, causal: false))
            start += input.count
        }
        return spans
    }

    /// Each input's rows of the encoder output and of every decoder layer's cross-attention keys and values
    /// (`keys(l)`, `values(l)`: layer l's over all rows, [ΣS, C]). A layer's keys and values over all rows are
    /// made one at a time and dropped once every input has its rows, so the peak holds the inputs' copies
    /// plus one layer's, not every layer's twice (bart-large-cnn, 8 articles of 4,510 tokens: 443 MB of
    /// float32 keys and values). One input's rows are all the rows: it keeps the tensors, no copy.
    static func split(_ hidden: Tensor, layers: Int, keys: (Int) -> Tensor, values: (Int) -> Tensor,
                      spans: [AttentionSpan]) -> [EncodedInput] {
        func rows(_ t: Tensor, _ s: AttentionSpan) -> Tensor {
            spans.count == 1 ? t : t.rowSlice(s.queryStart, s.queryCount)
        }
        var crossKeys = spans.map { _ in [Tensor]() }, crossValues = crossKeys
        for l in 0..<layers {
            let k = keys(l)
            for (i, s) in spans.enumerated() { crossKeys[i].append(rows(k, s)) }
            let v = values(l)
            for (i, s) in spans.enumerated() { crossValues[i].append(rows(v, s)) }
        }
        return spans.indices.map { i in
            EncodedInput(length: spans[i].queryCount, hidden: rows(hidden, spans[i]), crossKeys: crossKeys[i],
                         crossValues: crossValues[i])
        }
    }

    /// Where each sequence's new decoder tokens sit in the packed rows [ΣT, C]: (start, count) per sequence.
    static func decoderRows(_ tokens: [[Int]], caches: [DecoderCache], encoded: Int, limit: Int) -> [(start: Int, count: Int)] {
        require(tokens.count == caches.count && tokens.count == encoded, "decode: rows, caches and encoded inputs differ in number")
        var rows: [(start: Int, count: Int)] = []
        var start = 0
        for (i, t) in tokens.enumerated() {
            require(!t.isEmpty && caches[i].length + t.count <= limit, "decoder sequence longer than \(limit) positions")
            rows.append((start, t.count))
            start += t.count
        }
        return rows
    }

    /// Self-attention over each sequence's cache: appends the rows' new keys and values [ΣT, W] to their
    /// caches at `layer` and returns the causal spans (the new tokens are the last keys) with the layer's
    /// key and value sets.
    static func selfAttention(layer: Int, keys k: Tensor, values v: Tensor, rows: [(start: Int, count: Int)],
                              caches: inout [DecoderCache]) -> (spans: [AttentionSpan], keys: [Tensor], values: [Tensor]) {
        var spans: [AttentionSpan] = []
        for (i, row) in rows.enumerated() {
            caches[i].write(layer: layer, keys: k, values: v, sourceRow: row.start, count: row.count)
            spans.append(AttentionSpan(queryStart: row.start, queryCount: row.count, keyIndex: i,
                                       keyCount: caches[i].length + row.count, causal: true))
        }
        let layerCaches = caches.map { $0.layer(layer) }
        return (spans, layerCaches.map(\.keys), layerCaches.map(\.values))
    }

    /// Cross-attention of each sequence's new tokens over its input's encoder keys and values at `layer`.
    static func crossAttention(layer: Int, rows: [(start: Int, count: Int)], encoded: [EncodedInput])
        -> (spans: [AttentionSpan], keys: [Tensor], values: [Tensor]) {
        let spans = rows.enumerated().map { i, row in
            AttentionSpan(queryStart: row.start, queryCount: row.count, keyIndex: i, keyCount: encoded[i].length, causal: false)
        }
        return (spans, encoded.map { $0.crossKeys[layer] }, encoded.map { $0.crossValues[layer] })
    }
}
