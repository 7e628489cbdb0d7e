// Unigram (HF `models/unigram`, SentencePiece): the best-scoring segmentation by Viterbi over a
// trie of the vocabulary; unknown scalars score `min_score - 10` and consecutive unknowns fuse.

final class UnigramModel: @unchecked Sendable {
    let pieces: [(String, Double)]
    let tokenToIds: [RawKey: Int]
    let unkId: Int?
    let byteFallback: Bool
    let minScore: Double
    let trie: ByteTrie
    /// `pieces`' scores alone, for the lattice
    let scores: [Double]
    private var cache: [RawKey: [Token]] = [:]
    private let lock = Lock()

    convenience init(_ c: Cfg) throws {
        var pieces: [(String, Double)] = []
        for entry in try c.req("vocab").array() {
            let pair = try entry.array()
            guard pair.count == 2 else { throw entry.fail("expected [token, score]") }
            pieces.append((try pair[0].string(), try pair[1].double()))
        }
        try self.init(pieces: pieces, unkId: try c.opt("unk_id")?.int(), byteFallback: try c.bool("byte_fallback", default: false))
    }

    /// `pieces`: (token, score) in id order; errors name tokenizer.json's fields (model.vocab, model.unk_id).
    init(pieces: [(String, Double)], unkId: Int?, byteFallback: Bool) throws {
        var map: [RawKey: Int] = [:]
        map.reserveCapacity(pieces.count)
        var minScore = Double.infinity
        let trie = ByteTrie()
        for (i, (tok, score)) in pieces.enumerated() {
            map[RawKey(tok)] = i
            trie.insert(Array(tok.utf8), value: Int32(i))
            minScore = min(minScore, score)
        }
        if let u = unkId {
            guard !pieces.isEmpty else { throw TokenizerError("model.vocab: empty vocabulary") }
            guard u >= 0 && u < pieces.count else { throw TokenizerError("model.unk_id: \(u) is not in the vocabulary") }
        }
        self.unkId = unkId
        self.byteFallback = byteFallback
        self.pieces = pieces
        self.scores = pieces.map(\.1)
        self.tokenToIds = map
        self.minScore = minScore
        self.trie = trie
    }

    func tokenToId(_ t: String) -> Int? { tokenToIds[RawKey(t)] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < pieces.count ? pieces[id].0 : nil }
    var vocabSize: Int { pieces.count }

    /// The best segmentation of `sentence` as tokens, cached for short inputs (HF's cache: 10,000 entries).
    func tokenize(_ sentence: String) throws -> [Token] {
        if sentence.isEmpty { return [] }
        let key = RawKey(sentence)
        lock.lock()
        if let hit = cache[key] { lock.unlock(); return hit }
        lock.unlock()
        let result = try viterbi(sentence)
        if sentence.utf8.count < 256 {
            lock.lock()
            if cache.count < 10_000 { cache[key] = result }
            lock.unlock()
        }
        return result
    }

    /// HF `encode_optimized` then `tokenize`: a piece the lattice took from the vocabulary keeps that id (the
    /// trie, like `token_to_ids`, holds the last of duplicate pieces); consecutive unknowns are fused and
    /// looked up as one string, else byte fallback, else the unknown token.
    private func viterbi(_ sentence: String) throws -> [Token] {
        let bytes = Array(sentence.utf8)
        let size = bytes.count
        let unkScore = minScore - 10.0
        var bestScore = [Double](repeating: 0, count: size + 1)
        var startsAt = [Int](repeating: -1, count: size + 1)
        var ids = [Int](repeating: 0, count: size + 1)
        var pos = 0
        while pos < size {
            let here = bestScore[pos]
            let mblen = utf8Length(bytes[pos])
            var hasSingle = false
            trie.commonPrefixSearch(bytes, from: pos) { len, id in
                let end = pos + len
                let cand = self.scores[Int(id)] + here
                if startsAt[end] < 0 || cand > bestScore[end] {
                    bestScore[end] = cand; startsAt[end] = pos; ids[end] = Int(id)
                }
                if len == mblen { hasSingle = true }
            }
            if !hasSingle {
                let end = min(pos + mblen, size)
                let cand = unkScore + here
                if startsAt[end] < 0 || cand > bestScore[end] {
                    guard let u = unkId else { throw TokenizerError("model.unk_id: the Unigram model has no unknown token") }
                    bestScore[end] = cand; startsAt[end] = pos; ids[end] = u
                }
            }
            pos += mblen
        }
        var reversed: [Token] = []
        var unkEnd = -1  // end of the run of unknown pieces being collected (backwards)
        var end = size
        while end > 0 {
            let start = startsAt[end]
            if ids[end] == unkId {
                if unkEnd < 0 { unkEnd = end }
            } else {
                if unkEnd >= 0 { try appendUnknown(bytes[end..<unkEnd], to: &reversed); unkEnd = -1 }
                reversed.append(Token(id: ids[end], value: String(decoding: bytes[start..<end], as: UTF8.self)))
            }
            end = start
        }
        if unkEnd >= 0 { try appendUnknown(bytes[0..<unkEnd], to: &reversed) }
        return reversed.reversed()
    }

    /// Appends (in reverse order) the tokens of a fused run of unknown pieces.
    private func appendUnknown(_ run: ArraySlice<UInt8>, to reversed: inout [Token]) throws {
        let s = String(decoding: run, as: UTF8.self)
        if let id = tokenToIds[RawKey(s)] { reversed.append(Token(id: id, value: s)); return }
        if byteFallback {
            var toks: [Token] = []
            for b in run {
                let bt = byteToken(b)
                guard let id = tokenToIds[RawKey(bt)] else { toks = []; break }
                toks.append(Token(id: id, value: bt))
            }
            if !toks.isEmpty { reversed.append(contentsOf: toks.reversed()); return }
        }
        guard let u = unkId else { throw TokenizerError("model.unk_id: the Unigram model has no unknown token for \"\(s)\"") }
        reversed.append(Token(id: u, value: s))
    }
}

@inline(__always) func utf8Length(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead < 0xE0 { return 2 }
    if lead < 0xF0 { return 3 }
    return 4
}

/// A byte trie with values at key ends; children in sorted small arrays.
final class ByteTrie {
    private var labels: [[UInt8]] = [[]]
    private var children: [[Int32]] = [[]]
    private var values: [Int32] = [-1]

    func insert(_ key: [UInt8], value: Int32) {
        var node = 0
        for b in key {
            if let i = labels[node].firstIndex(of: b) {
                node = Int(children[node][i])
            } else {
                labels.append([]); children.append([]); values.append(-1)
                let n = labels.count - 1
                labels[node].append(b)
                children[node].append(Int32(n))
                node = n
            }
        }
        values[node] = value  // later duplicates win, as in the reference's token map
    }

    /// Calls `f(length, value)` for every key that is a prefix of `bytes[from...]`, shortest first.
    func commonPrefixSearch(_ bytes: [UInt8], from: Int, _ f: (Int, Int32) throws -> Void) rethrows {
        var node = 0
        var i = from
        while i < bytes.count {
            guard let k = labels[node].firstIndex(of: bytes[i]) else { return }
            node = Int(children[node][k])
            i += 1
            if values[node] >= 0 { try f(i - from, values[node]) }
        }
    }
}
