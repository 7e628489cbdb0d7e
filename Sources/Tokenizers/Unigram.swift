// Unigram (HF `models/unigram`, SentencePiece): the best-scoring segmentation by Viterbi over a
// trie of the vocabulary; unknown scalars score `min_score - 10` and consecutive unknowns fuse.

final class UnigramModel: @unchecked Sendable {
    let pieces: [(String, Double)]
    let tokenToIds: [RawKey: Int]
    let unkId: Int?
    let byteFallback: Bool
    let minScore: Double
    let trie: ByteTrie
    private var cache: [RawKey: [String]] = [:]
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
        self.tokenToIds = map
        self.minScore = minScore
        self.trie = trie
    }

    func tokenToId(_ t: String) -> Int? { tokenToIds[RawKey(t)] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < pieces.count ? pieces[id].0 : nil }
    var vocabSize: Int { pieces.count }

    func tokenize(_ sentence: String) throws -> [Token] {
        let strs = try encode(sentence)
        var out: [Token] = []
        for s in strs {
            if let id = tokenToIds[RawKey(s)] { out.append(Token(id: id, value: s)); continue }
            if byteFallback {
                var toks: [Token] = []
                var ok = true
                for b in s.utf8 {
                    let bt = byteToken(b)
                    guard let id = tokenToIds[RawKey(bt)] else { ok = false; break }
                    toks.append(Token(id: id, value: bt))
                }
                if ok { out.append(contentsOf: toks); continue }
            }
            guard let u = unkId else { throw TokenizerError("model.unk_id: the Unigram model has no unknown token for \"\(s)\"") }
            out.append(Token(id: u, value: s))
        }
        return out
    }

    func encode(_ sentence: String) throws -> [String] {
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

    private func viterbi(_ sentence: String) throws -> [String] {
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
                let cand = self.pieces[Int(id)].1 + here
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
        var results: [String] = []
        var pendingUnk: [String] = []
        var end = size
        while end > 0 {
            let start = startsAt[end]
            let piece = String(decoding: bytes[start..<end], as: UTF8.self)
            if ids[end] == unkId {
                pendingUnk.append(piece)
            } else {
                if !pendingUnk.isEmpty { results.append(pendingUnk.reversed().joined()); pendingUnk = [] }
                results.append(piece)
            }
            end = start
        }
        if !pendingUnk.isEmpty { results.append(pendingUnk.reversed().joined()) }
        return results.reversed()
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
