// Added and special tokens (HF `tokenizer/added_vocabulary.rs`): found in the text before the model
// runs, leftmost-longest, with `single_word`, `lstrip`, `rstrip` and `normalized` semantics.

public struct AddedToken: Sendable {
    public var id: Int
    public var content: String
    public var singleWord = false
    public var lstrip = false
    public var rstrip = false
    public var normalized = true
    public var special = false
}

struct AddedVocabulary {
    var tokens: [Int: AddedToken] = [:]
    var byContent: [RawKey: Int] = [:]
    var specialContents: Set<RawKey> = []
    /// normalized form of tokens with `normalized: true`, when it differs from the content.
    var normalizedForm: [Int: String] = [:]
    private var rawMatcher = TokenMatcher()
    private var normalizedMatcher = TokenMatcher()

    mutating func add(_ t: AddedToken, normalizer: Normalizer?) {
        guard !t.content.isEmpty else { return }
        tokens[t.id] = t
        byContent[RawKey(t.content)] = t.id
        if t.special { specialContents.insert(RawKey(t.content)) }
        if t.normalized, let n = normalizer {
            let form = n.normalize(t.content)
            if !form.utf8.elementsEqual(t.content.utf8) { normalizedForm[t.id] = form }
        }
    }

    mutating func build() {
        rawMatcher = TokenMatcher()
        normalizedMatcher = TokenMatcher()
        for (id, t) in tokens {
            if t.normalized { normalizedMatcher.insert(Array((normalizedForm[id] ?? t.content).utf8), id: id) } else { rawMatcher.insert(Array(t.content.utf8), id: id) }
        }
    }

    /// Token string used when decoding id `id` (its normalized form where one was cached).
    func decodeString(_ id: Int) -> String? {
        guard let t = tokens[id] else { return nil }
        return normalizedForm[id] ?? t.content
    }

    func isSpecial(_ s: String) -> Bool { specialContents.contains(RawKey(s)) }

    /// Splits `text` around added tokens; `normalizer` runs on the pieces between raw matches.
    func extractAndNormalize(_ text: String, normalizer: Normalizer?) -> [Split] {
        var splits: [Split] = []
        for (r, id) in findMatches(Array(text.utf8), matcher: rawMatcher) {
            let piece = text.utf8Slice(r)
            if let id { splits.append(Split(text: piece, tokens: [Token(id: id, value: piece)], atStart: r.lowerBound == 0)) } else { splits.append(Split(text: piece, tokens: nil, atStart: r.lowerBound == 0)) }
        }
        var out: [Split] = []
        for sp in splits {
            if sp.tokens != nil { out.append(sp); continue }
            let normalized = normalizer?.normalize(sp.text) ?? sp.text
            for (r, id) in findMatches(Array(normalized.utf8), matcher: normalizedMatcher) {
                let piece = normalized.utf8Slice(r)
                out.append(Split(text: piece, tokens: id.map { [Token(id: $0, value: piece)] }, atStart: sp.atStart && r.lowerBound == 0))
            }
        }
        return out.filter { !$0.text.isEmpty || $0.tokens != nil }
    }

    private func findMatches(_ s: [UInt8], matcher: TokenMatcher) -> [(Range<Int>, Int?)] {
        if s.isEmpty { return [(0..<0, nil)] }
        if matcher.isEmpty { return [(0..<s.count, nil)] }
        var splits: [(Range<Int>, Int?)] = []
        var startOffset = 0
        var pos = 0
        while let (mStart, mEnd, id) = matcher.leftmostLongest(s, from: pos) {
            pos = mEnd
            guard let t = tokens[id] else { continue }
            var start = mStart, stop = mEnd
            if t.singleWord {
                let startSpace = start == 0 || !endsWithWordChar(s[..<start])
                let stopSpace = stop == s.count || !startsWithWordChar(s[stop...])
                if !startSpace || !stopSpace { continue }
            }
            if t.lstrip {
                var ns = start
                while ns > 0, let (c, w) = lastScalar(s[..<ns]), c.isWS { ns -= w }
                start = max(ns, startOffset)
            }
            if t.rstrip {
                while stop < s.count, let (c, w) = firstScalar(s[stop...]), c.isWS { stop += w }
            }
            if startOffset < start { splits.append((startOffset..<start, nil)) }
            splits.append((start..<stop, id))
            startOffset = stop
            pos = max(pos, stop)
        }
        if startOffset != s.count { splits.append((startOffset..<s.count, nil)) }
        return splits
    }
}

private func firstScalar(_ b: ArraySlice<UInt8>) -> (Unicode.Scalar, Int)? {
    guard let lead = b.first else { return nil }
    let n = utf8Length(lead)
    let s = String(decoding: b.prefix(n), as: UTF8.self)
    return s.unicodeScalars.first.map { ($0, n) }
}

private func lastScalar(_ b: ArraySlice<UInt8>) -> (Unicode.Scalar, Int)? {
    guard !b.isEmpty else { return nil }
    var i = b.endIndex - 1
    while i > b.startIndex && (b[i] & 0xC0) == 0x80 { i -= 1 }
    let s = String(decoding: b[i...], as: UTF8.self)
    return s.unicodeScalars.first.map { ($0, b.endIndex - i) }
}

private func endsWithWordChar(_ b: ArraySlice<UInt8>) -> Bool { lastScalar(b)?.0.isWordChar ?? false }
private func startsWithWordChar(_ b: ArraySlice<UInt8>) -> Bool { firstScalar(b)?.0.isWordChar ?? false }

/// A byte trie for leftmost-longest matching of added tokens.
struct TokenMatcher {
    private var next: [[UInt8: Int32]] = [[:]]
    private var value: [Int] = [-1]
    private var firstBytes = [Bool](repeating: false, count: 256)
    var isEmpty: Bool { next[0].isEmpty }

    mutating func insert(_ key: [UInt8], id: Int) {
        guard !key.isEmpty else { return }
        firstBytes[Int(key[0])] = true
        var node = 0
        for b in key {
            if let n = next[node][b] { node = Int(n) } else {
                next.append([:]); value.append(-1)
                next[node][b] = Int32(next.count - 1)
                node = next.count - 1
            }
        }
        value[node] = id
    }

    /// The leftmost match starting at or after `from`, longest among those starting there.
    func leftmostLongest(_ s: [UInt8], from: Int) -> (Int, Int, Int)? {
        var i = from
        while i < s.count {
            if firstBytes[Int(s[i])] {
                var node = 0
                var j = i
                var best: (Int, Int)? = nil
                while j < s.count, let n = next[node][s[j]] {
                    node = Int(n)
                    j += 1
                    if value[node] >= 0 { best = (j, value[node]) }
                }
                if let (end, id) = best { return (i, end, id) }
            }
            i += 1
        }
        return nil
    }
}
