import Foundation

// Normalizers (HF `normalizers/`): each maps a piece of text to its normalized form.

indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    case replace(pattern: Pattern, content: String)
    case prepend(String)
    case strip(left: Bool, right: Bool)
    case precompiled(PrecompiledCharsmap?)
    case byteLevel
    case sequence([Normalizer])

    static func load(_ c: Cfg) throws -> Normalizer {
        let type = try c.type()
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "ByteLevel": return .byteLevel
        case "BertNormalizer":
            return .bert(cleanText: try c.bool("clean_text", default: true),
                         handleChineseChars: try c.bool("handle_chinese_chars", default: true),
                         stripAccents: try c.opt("strip_accents")?.bool(),
                         lowercase: try c.bool("lowercase", default: true))
        case "Replace":
            return .replace(pattern: try loadStringOrRegex(try c.req("pattern")), content: try c.req("content").string())
        case "Prepend": return .prepend(try c.req("prepend").string())
        case "Strip":
            return .strip(left: try c.bool("strip_left", default: true), right: try c.bool("strip_right", default: true))
        case "Precompiled":
            guard let m = c.opt("precompiled_charsmap") else { return .precompiled(nil) }
            return .precompiled(try PrecompiledCharsmap(base64: try m.string(), path: m.path))
        case "Sequence":
            return .sequence(try c.req("normalizers").array().map(load))
        default:
            throw c.fail("unsupported normalizer type \"\(type)\"")
        }
    }

    func normalize(_ s: String) -> String {
        if s.isEmpty { return s }
        switch self {
        case .nfc: return s.isASCII ? s : s.precomposedStringWithCanonicalMapping
        case .nfd: return s.isASCII ? s : s.decomposedStringWithCanonicalMapping
        // NFKC as NFC(NFKD(s)): Foundation's one-step NFKC leaves marks that came from a compatibility
        // mapping uncomposed ("ｶﾞ" stays "カ\u{3099}" instead of "ガ").
        case .nfkc: return s.isASCII ? s : s.decomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
        case .nfkd: return s.isASCII ? s : s.decomposedStringWithCompatibilityMapping
        case .lowercase: return s.lowercasedScalars()
        case .stripAccents: return filterScalars(s) { !$0.isMark }
        case .bert(let clean, let chinese, let strip, let lower):
            if s.isASCII { return bertASCII(s, clean: clean, lower: lower) }
            var t = s
            if clean {
                var out = ScalarBuffer(capacity: t.utf8.count)
                for c in t.unicodeScalars {
                    // Controls (Cc, Cf, Cn, Co, Cs) other than \t \n \r are removed before whitespace
                    // becomes a space, so U+000B and U+0085 vanish rather than separate words.
                    if c.value == 0 || c.value == 0xFFFD { continue }
                    let tnr = c == "\t" || c == "\n" || c == "\r"
                    if !tnr && c.isOtherCategory { continue }
                    out.append(tnr || c.isWS ? " " : c)
                }
                t = out.string
            }
            if chinese {
                var out = ScalarBuffer(capacity: t.utf8.count + 16)
                for c in t.unicodeScalars {
                    if c.isCJK { out.append(" "); out.append(c); out.append(" ") } else { out.append(c) }
                }
                t = out.string
            }
            if strip ?? lower {
                if !t.isASCII { t = filterScalars(t.decomposedStringWithCanonicalMapping) { !$0.isNonspacingMark } }
            }
            if lower { t = t.lowercasedScalars() }
            return t
        case .replace(let pattern, let content):
            let matches = pattern.findMatches(s)
            if !matches.contains(where: { $0.1 }) { return s }
            var out = ""
            for (r, isMatch) in matches { out += isMatch ? content : s.utf8Slice(r) }
            return out
        case .prepend(let p): return p + s
        case .strip(let left, let right):
            var scalars = Substring(s).unicodeScalars[...]
            if left { while let f = scalars.first, f.isWS { scalars = scalars.dropFirst() } }
            if right { while let l = scalars.last, l.isWS { scalars = scalars.dropLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .precompiled(let map):
            return map?.normalize(s) ?? s
        case .byteLevel:
            return ByteLevelMap.encode(s)
        case .sequence(let ns):
            var t = s
            for n in ns { t = n.normalize(t) }
            return t
        }
    }
}

func filterScalars(_ s: String, _ keep: (Unicode.Scalar) -> Bool) -> String {
    var out = ScalarBuffer(capacity: s.utf8.count)
    for c in s.unicodeScalars where keep(c) { out.append(c) }
    return out.string
}

/// `{"String": "..."}` or `{"Regex": "..."}` (Replace normalizer, Split pre-tokenizer).
func loadStringOrRegex(_ c: Cfg) throws -> Pattern {
    if let s = c.opt("String") { return .literal(try s.string()) }
    if let r = c.opt("Regex") { return .regex(try RegexPattern(try r.string(), path: r.path)) }
    throw c.fail("expected {\"String\": ...} or {\"Regex\": ...}")
}

/// SentencePiece's `precompiled_charsmap`: [u32 trie size][darts-clone double array][NUL-separated
/// replacement strings]. Applied grapheme by grapheme as `spm_precompiled` does.
struct PrecompiledCharsmap {
    let trie: [UInt32]
    let normalized: [UInt8]
    /// The replacement of each ASCII byte on its own (a range of `normalized`), nil where it has none.
    private var ascii = [Range<Int>?](repeating: nil, count: 128)

    init(base64: String, path: String) throws {
        guard let data = Data(base64Encoded: base64) else { throw TokenizerError("\(path): not valid base64") }
        try self.init(bytes: [UInt8](data), path: path)
    }

    init(bytes: [UInt8], path: String) throws {
        guard bytes.count >= 4 else { throw TokenizerError("\(path): charsmap too short") }
        let size = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard size % 4 == 0, 4 + size <= bytes.count else { throw TokenizerError("\(path): trie size \(size) exceeds the charsmap") }
        var t: [UInt32] = []
        t.reserveCapacity(size / 4)
        var i = 4
        while i < 4 + size {
            t.append(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            i += 4
        }
        guard !t.isEmpty else { throw TokenizerError("\(path): empty trie") }
        trie = t
        normalized = Array(bytes[(4 + size)...])
        for b in 0..<128 {
            var key = UInt8(b)
            ascii[b] = withUnsafePointer(to: &key) { replacement(UnsafeBufferPointer(start: $0, count: 1)) }
        }
    }

    /// The value of the shortest key that is a prefix of `key` (darts-clone `commonPrefixSearch`'s first
    /// result; a NUL byte ends the key).
    private func firstMatch(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        trie.withUnsafeBufferPointer { t in
            func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
            var pos = offset(t[0])
            for c in key {
                if c == 0 { return nil }
                pos ^= Int(c)
                guard pos < t.count else { return nil }
                let unit = t[pos]
                if (unit & ((1 << 31) | 0xFF)) != UInt32(c) { return nil }
                pos ^= offset(unit)
                guard pos < t.count else { return nil }
                if (unit >> 8) & 1 == 1 { return Int(t[pos] & ((1 << 31) - 1)) }
            }
            return nil
        }
    }

    /// The bytes of `normalized` that replace `chunk` (up to the next NUL), or nil when it has no entry.
    private func replacement(_ chunk: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard let index = firstMatch(chunk), index < normalized.count else { return nil }
        var end = index
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return index..<end
    }

    /// Each grapheme cluster is replaced whole when it is shorter than 6 bytes and has an entry, else each
    /// of its scalars that has one. Two ASCII scalars always have a cluster boundary between them except CR LF,
    /// so an ASCII byte followed by another ASCII byte is looked up in `ascii` without finding clusters.
    func normalize(_ s: String) -> String {
        var str = s
        str.makeContiguousUTF8()
        return str.utf8.withContiguousStorageIfAvailable { normalize(str, $0) } ?? str
    }

    private func normalize(_ s: String, _ buf: UnsafeBufferPointer<UInt8>) -> String {
        let n = buf.count
        var out: [UInt8] = []
        var changed = false
        var clean = 0  // buf[clean..<i] is copied through unchanged
        func replace(_ at: Int, _ count: Int, with r: Range<Int>) {
            if !changed { out.reserveCapacity(n + 16); changed = true }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[clean..<at]))
            out.append(contentsOf: normalized[r])
            clean = at + count
        }
        var i = 0
        while i < n {
            let b = buf[i]
            if b < 0x80 && (i + 1 == n || (buf[i + 1] < 0x80 && !(b == 0x0D && buf[i + 1] == 0x0A))) {
                if let r = ascii[Int(b)] { replace(i, 1, with: r) }
                i += 1
                continue
            }
            // a grapheme cluster starts at i
            let start = s.utf8.index(s.utf8.startIndex, offsetBy: i)
            let end = min(s.utf8.distance(from: s.utf8.startIndex, to: s.index(after: start)), n)
            if end - i < 6, let r = replacement(UnsafeBufferPointer(rebasing: buf[i..<end])) {
                replace(i, end - i, with: r)
            } else {
                var j = i
                while j < end {
                    let w = min(utf8Length(buf[j]), end - j)
                    if let r = replacement(UnsafeBufferPointer(rebasing: buf[j..<(j + w)])) { replace(j, w, with: r) }
                    j += w
                }
            }
            i = max(end, i + 1)
        }
        guard changed else { return s }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[clean..<n]))
        return String(decoding: out, as: UTF8.self)
    }
}

/// BertNormalizer on ASCII text in one pass: controls other than \t \n \r removed, whitespace to
/// spaces, optional lowercase (no CJK or accents can occur).
func bertASCII(_ s: String, clean: Bool, lower: Bool) -> String {
    var out = [UInt8]()
    out.reserveCapacity(s.utf8.count)
    for b in s.utf8 {
        var c = b
        if clean {
            if c == 0 { continue }
            if c == 0x09 || c == 0x0A || c == 0x0D { out.append(0x20); continue }
            if c < 0x20 || c == 0x7F { continue }
        }
        if lower && c >= 0x41 && c <= 0x5A { c += 32 }
        out.append(c)
    }
    return String(decoding: out, as: UTF8.self)
}
