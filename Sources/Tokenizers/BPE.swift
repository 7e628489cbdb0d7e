import Foundation

// Byte-pair encoding (HF `models/bpe`): merges applied lowest rank first, leftmost on ties, with
// an optional unknown token, byte fallback (`<0xNN>`), subword prefix/suffix and a word cache.

final class BPEModel: @unchecked Sendable {
    let vocab: [RawKey: Int]
    let vocabR: [String?]
    /// (left id, right id) -> (rank, merged id)
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let unkToken: String?
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// ids of the single-scalar tokens, looked up once per scalar value.
    private var cache: [RawKey: [Int32]] = [:]
    private let cacheCapacity = 10_000
    private let lock = Lock()

    init(_ c: Cfg) throws {
        let vocabCfg = try c.req("vocab")
        var vocab: [RawKey: Int] = [:]
        var maxId = -1
        for (tok, idCfg) in try vocabCfg.object() {
            let id = try idCfg.int()
            guard id >= 0 else { throw idCfg.fail("negative id") }
            vocab[RawKey(tok)] = id
            maxId = max(maxId, id)
        }
        // ids index a dense reverse table and are kept as Int32: a few unused ids are fine, but one far
        // beyond the vocabulary's size would allocate gigabytes or trap (found by fuzzing, Fuzz/).
        let idLimit = vocab.count + 65_536
        guard maxId < idLimit else {
            throw vocabCfg.fail("id \(maxId) is far beyond the vocabulary's \(vocab.count) entries (ids must be below \(idLimit))")
        }
        var vocabR = [String?](repeating: nil, count: maxId + 1)
        for (k, id) in vocab { vocabR[id] = k.s }
        self.vocab = vocab
        self.vocabR = vocabR
        unkToken = try c.opt("unk_token")?.string()
        continuingSubwordPrefix = try c.opt("continuing_subword_prefix")?.string()
        endOfWordSuffix = try c.opt("end_of_word_suffix")?.string()
        fuseUnk = try c.bool("fuse_unk", default: false)
        byteFallback = try c.bool("byte_fallback", default: false)
        ignoreMerges = try c.bool("ignore_merges", default: false)
        if let d = c.opt("dropout"), try d.double() > 0 {
            throw d.fail("BPE dropout is not supported for inference (outputs would be random)")
        }
        let prefixLen = continuingSubwordPrefix?.utf8.count ?? 0
        var merges: [UInt64: (Int32, Int32)] = [:]
        let mergesCfg = try c.opt("merges")?.array() ?? []
        merges.reserveCapacity(mergesCfg.count)
        for (rank, m) in mergesCfg.enumerated() {
            let a: String, b: String
            if case .string(let s) = m.value {
                // Split on the space byte, never on grapheme clusters.
                let parts = s.utf8.split(separator: 0x20, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw m.fail("a merge must be two tokens separated by one space, found \"\(s)\"") }
                a = String(decoding: parts[0], as: UTF8.self); b = String(decoding: parts[1], as: UTF8.self)
            } else {
                let parts = try m.array()
                guard parts.count == 2 else { throw m.fail("a merge must have exactly two tokens, found \(parts.count)") }
                a = try parts[0].string(); b = try parts[1].string()
            }
            guard let ia = vocab[RawKey(a)] else { throw m.fail("merge token \"\(a)\" is not in the vocabulary") }
            guard let ib = vocab[RawKey(b)] else { throw m.fail("merge token \"\(b)\" is not in the vocabulary") }
            let bTail = prefixLen > 0 && b.utf8.starts(with: continuingSubwordPrefix!.utf8) ? String(b.utf8.dropFirst(prefixLen))! : b
            let merged = a + bTail
            guard let im = vocab[RawKey(merged)] else { throw m.fail("merged token \"\(merged)\" is not in the vocabulary") }
            merges[BPEModel.pairKey(ia, ib)] = (Int32(rank), Int32(im))
        }
        self.merges = merges
        if let u = unkToken, vocab[RawKey(u)] == nil, !byteFallback {
            // HF errors lazily when the unknown token is needed; we check up front.
            throw TokenizerError("model.unk_token: \"\(u)\" is not in the vocabulary")
        }
    }

    @inline(__always) static func pairKey(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    func tokenToId(_ t: String) -> Int? { vocab[RawKey(t)] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < vocabR.count ? vocabR[id] : nil }
    var vocabSize: Int { vocab.count }

    func tokenize(_ word: String) -> [Token] {
        if word.isEmpty { return [] }
        if ignoreMerges, let id = vocab[RawKey(word)] { return [Token(id: id, value: word)] }
        let key = RawKey(word)
        lock.lock()
        let hit = cache[key]
        lock.unlock()
        let ids: [Int32]
        if let hit { ids = hit } else {
            ids = mergeWord(word)
            if word.utf8.count < 256 {
                lock.lock()
                if cache.count < cacheCapacity { cache[key] = ids }
                lock.unlock()
            }
        }
        return ids.map { Token(id: Int($0), value: vocabR[Int($0)] ?? "") }
    }

    /// ids of `word` before the cache (HF `merge_word` + `Word::merge_all`).
    func mergeWord(_ w: String) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(w.utf8.count)
        var unk: Int32? = nil
        let scalars = Array(w.unicodeScalars)
        for (i, c) in scalars.enumerated() {
            var s = String(c)
            let isFirst = i == 0, isLast = i == scalars.count - 1
            if !isFirst, let p = continuingSubwordPrefix { s = p + s }
            if isLast, let sfx = endOfWordSuffix { s += sfx }
            if let id = vocab[RawKey(s)] {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(Int32(id))
                continue
            }
            if byteFallback {
                var ids: [Int32] = []
                var ok = true
                for b in s.utf8 {
                    guard let id = vocab[RawKey(byteToken(b))] else { ok = false; break }
                    ids.append(Int32(id))
                }
                if ok { symbols.append(contentsOf: ids); continue }
            }
            if let u = unkToken, let uid = vocab[RawKey(u)] {
                if unk != nil && !fuseUnk { symbols.append(unk!) }
                if unk == nil || !fuseUnk { unk = Int32(uid) }
            }
        }
        if let u = unk { symbols.append(u) }
        return mergeAll(symbols)
    }

    /// Repeatedly merges the adjacent pair of lowest rank (leftmost first).
    func mergeAll(_ input: [Int32]) -> [Int32] {
        var sym = input
        let n = sym.count
        if n < 2 { return sym }
        // Doubly linked list over positions with a binary heap of candidate merges.
        var prev = [Int](0..<n).map { $0 - 1 }
        var next = [Int](1...n)
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[BPEModel.pairKey(Int(sym[i]), Int(sym[i + 1]))] {
                heap.push(rank: m.rank, pos: Int32(i), id: m.id)
            }
        }
        while let top = heap.pop() {
            let p = Int(top.pos)
            guard alive[p], next[p] >= 0 else { continue }
            let q = next[p]
            guard let m = merges[BPEModel.pairKey(Int(sym[p]), Int(sym[q]))], m.id == top.id else { continue }
            sym[p] = top.id
            alive[q] = false
            let r = next[q]
            next[p] = r
            if r >= 0 { prev[r] = p }
            if prev[p] >= 0, let m2 = merges[BPEModel.pairKey(Int(sym[prev[p]]), Int(sym[p]))] {
                heap.push(rank: m2.rank, pos: Int32(prev[p]), id: m2.id)
            }
            if r >= 0, let m3 = merges[BPEModel.pairKey(Int(sym[p]), Int(sym[r]))] {
                heap.push(rank: m3.rank, pos: Int32(p), id: m3.id)
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = 0
        while i >= 0 && i < n { if alive[i] { out.append(sym[i]) }; i += 1 }
        return out
    }
}

func byteToken(_ b: UInt8) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    return String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 15)], UInt8(ascii: ">")], as: UTF8.self)
}

/// Min-heap on (rank, pos).
struct MergeHeap {
    struct Item { var rank: Int32; var pos: Int32; var id: Int32 }
    var items: [Item] = []

    @inline(__always) static func less(_ a: Item, _ b: Item) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos }

    mutating func push(rank: Int32, pos: Int32, id: Int32) {
        items.append(Item(rank: rank, pos: pos, id: id))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if MergeHeap.less(items[i], items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }

    mutating func pop() -> Item? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && MergeHeap.less(items[l], items[m]) { m = l }
                if r < n && MergeHeap.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// A tiny mutex (the BPE cache is shared by concurrent encodes).
final class Lock: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    @inline(__always) func lock() { pthread_mutex_lock(&m) }
    @inline(__always) func unlock() { pthread_mutex_unlock(&m) }
}
