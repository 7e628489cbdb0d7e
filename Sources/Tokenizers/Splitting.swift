import Foundation

// Pieces of text as they move through the pipeline (HF `PreTokenizedString` without offsets) and the
// splitting rules shared by pre-tokenizers (HF `NormalizedString::split` and `Pattern`).

public struct Token: Equatable, Sendable {
    public var id: Int
    public var value: String
}

/// One split of the input. `tokens` is set once an added token or the model has produced ids;
/// later stages leave such splits alone. `atStart` tells whether the split begins at offset 0 of the
/// original text (Metaspace's `prepend_scheme: first`).
struct Split {
    var text: String
    var tokens: [Token]?
    var atStart: Bool
}

enum SplitBehavior: String {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    init(json: Cfg) throws {
        let s = try json.string()
        switch s {
        case "Removed": self = .removed
        case "Isolated": self = .isolated
        case "MergedWithPrevious": self = .mergedWithPrevious
        case "MergedWithNext": self = .mergedWithNext
        case "Contiguous": self = .contiguous
        default: throw json.fail("unknown split behavior \"\(s)\"")
        }
    }
}

/// What a split matches: a scalar predicate, a literal string or a regular expression.
enum Pattern {
    case predicate((Unicode.Scalar) -> Bool)
    case literal(String)
    case regex(RegexPattern)

    /// Contiguous (UTF-8 byte range, isMatch) covering `s`, as HF's `find_matches`.
    func findMatches(_ s: String) -> [(Range<Int>, Bool)] {
        let count = s.utf8.count
        if count == 0 { return [(0..<0, false)] }
        var out: [(Range<Int>, Bool)] = []
        switch self {
        case .predicate(let f):
            var last = 0
            var i = 0
            for c in s.unicodeScalars {
                let n = UTF8.width(c)
                if f(c) {
                    if last < i { out.append((last..<i, false)) }
                    out.append((i..<(i + n), true))
                    last = i + n
                }
                i += n
            }
            if i > last { out.append((last..<i, false)) }
            return out
        case .literal(let lit):
            let bytes = Array(s.utf8)
            let pat = Array(lit.utf8)
            if pat.isEmpty { return [(0..<s.unicodeScalars.count, false)] }
            var prev = 0
            var i = 0
            while i + pat.count <= bytes.count {
                if bytes[i] == pat[0] && bytes[i..<(i + pat.count)].elementsEqual(pat) {
                    if prev != i { out.append((prev..<i, false)) }
                    out.append((i..<(i + pat.count), true))
                    i += pat.count
                    prev = i
                } else {
                    i += 1
                }
            }
            if prev != bytes.count { out.append((prev..<bytes.count, false)) }
            return out
        case .regex(let re):
            var prev = 0
            for m in re.matches(in: s) {
                if prev != m.lowerBound { out.append((prev..<m.lowerBound, false)) }
                out.append((m, true))
                prev = m.upperBound
            }
            if prev != count { out.append((prev..<count, false)) }
            return out
        }
    }
}

/// Applies `behavior` to the matches of `pattern` in `s` (inverted when `invert`), returning the
/// resulting pieces as byte ranges; empty pieces are dropped later by the caller.
func splitRanges(_ s: String, _ pattern: Pattern, _ behavior: SplitBehavior, invert: Bool = false) -> [Range<Int>] {
    if !invert, case .predicate(let f) = pattern {
        // One scalar per match: the two behaviours WhitespaceSplit and Metaspace use, in one pass.
        switch behavior {
        case .removed: return scalarRuns(s, where: f)
        case .mergedWithNext: return rangesStartingAtMatches(s, f)
        default: break
        }
    }
    var matches = pattern.findMatches(s)
    if invert { matches = matches.map { ($0.0, !$0.1) } }
    var acc: [(Range<Int>, Bool)] = []
    switch behavior {
    case .isolated:
        acc = matches.map { ($0.0, false) }
    case .removed:
        acc = matches
    case .contiguous:
        var previous = false
        for (r, isMatch) in matches {
            if isMatch == previous, let last = acc.last {
                acc[acc.count - 1] = (last.0.lowerBound..<r.upperBound, false)
            } else {
                acc.append((r, false))
            }
            previous = isMatch
        }
    case .mergedWithPrevious:
        var previous = false
        for (r, isMatch) in matches {
            if isMatch && !previous, let last = acc.last {
                acc[acc.count - 1] = (last.0.lowerBound..<r.upperBound, false)
            } else {
                acc.append((r, false))
            }
            previous = isMatch
        }
    case .mergedWithNext:
        var previous = false
        for (r, isMatch) in matches.reversed() {
            if isMatch && !previous, let last = acc.last {
                acc[acc.count - 1] = (r.lowerBound..<last.0.upperBound, false)
            } else {
                acc.append((r, false))
            }
            previous = isMatch
        }
        acc.reverse()
    }
    return acc.filter { !$0.1 }.map { $0.0 }
}

/// Byte ranges of the maximal runs of scalars for which `isMatch` is false (a split with `removed`).
func scalarRuns(_ s: String, where isMatch: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var b = 0
    var start = -1
    for c in s.unicodeScalars {
        if isMatch(c) {
            if start >= 0 { out.append(start..<b); start = -1 }
        } else if start < 0 {
            start = b
        }
        b += UTF8.width(c)
    }
    if start >= 0 { out.append(start..<b) }
    return out
}

/// Byte ranges that each begin at a match (a split with `merged_with_next` whose matches are single
/// scalars: every match starts a piece, which runs to the next match), plus the text before the first.
func rangesStartingAtMatches(_ s: String, _ isMatch: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var b = 0
    var start = 0
    for c in s.unicodeScalars {
        if isMatch(c) && b > start {
            out.append(start..<b)
            start = b
        }
        b += UTF8.width(c)
    }
    if b > start { out.append(start..<b) }
    return out
}

extension String {
    /// The substring of UTF-8 bytes `r` (always on scalar boundaries here).
    func utf8Slice(_ r: Range<Int>) -> String {
        let u = utf8
        let a = u.index(u.startIndex, offsetBy: r.lowerBound)
        let b = u.index(a, offsetBy: r.count)
        return String(self[a..<b])
    }
}

/// Splits every split that has no tokens yet with `f`, dropping empty results (HF
/// `PreTokenizedString::split`).
func splitEach(_ splits: inout [Split], _ f: (String, Bool) throws -> [(String, Bool)]) rethrows {
    var out: [Split] = []
    out.reserveCapacity(splits.count)
    for sp in splits {
        if sp.tokens != nil { out.append(sp); continue }
        for (t, atStart) in try f(sp.text, sp.atStart) where !t.isEmpty {
            out.append(Split(text: t, tokens: nil, atStart: atStart))
        }
    }
    splits = out
}

/// Splits a piece by byte ranges, carrying `atStart` only to a first piece that begins at byte 0.
func pieces(_ s: String, _ ranges: [Range<Int>], atStart: Bool) -> [(String, Bool)] {
    ranges.map { (s.utf8Slice($0), atStart && $0.lowerBound == 0) }
}

/// A regular expression (Oniguruma syntax in tokenizer.json) run by ICU through Foundation; matches
/// are reported as UTF-8 byte ranges.
final class RegexPattern: @unchecked Sendable {
    let source: String
    let re: NSRegularExpression
    /// `c{n,}` for one ASCII character `c` that is not a metacharacter (SentencePiece conversions' ` {2,}`):
    /// matched without ICU as the runs of at least `n` bytes `c`, which is what the regex finds.
    let run: (byte: UInt8, min: Int)?

    init(_ source: String, path: String) throws {
        self.source = source
        do {
            re = try NSRegularExpression(pattern: source, options: [])
        } catch {
            throw TokenizerError("\(path): invalid regular expression \"\(source)\"")
        }
        run = Self.repeatedCharacter(source)
    }

    static func repeatedCharacter(_ source: String) -> (byte: UInt8, min: Int)? {
        let u = Array(source.utf8)
        guard u.count >= 5, u[0] >= 0x20, u[0] < 0x7F, !Array("\\^$.|?*+()[]{}#".utf8).contains(u[0]),
              u[1] == UInt8(ascii: "{"), u[u.count - 2] == UInt8(ascii: ","), u[u.count - 1] == UInt8(ascii: "}") else { return nil }
        let digits = u[2..<(u.count - 2)]
        guard digits.count <= 6, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let n = Int(String(decoding: digits, as: UTF8.self)), n >= 1 else { return nil }
        return (u[0], n)
    }

    func matches(in s: String) -> [Range<Int>] {
        if let (c, n) = run {
            var out: [Range<Int>] = []
            var i = 0
            var start = -1
            for b in s.utf8 {
                if b == c {
                    if start < 0 { start = i }
                } else if start >= 0 {
                    if i - start >= n { out.append(start..<i) }
                    start = -1
                }
                i += 1
            }
            if start >= 0 && i - start >= n { out.append(start..<i) }
            return out
        }
        let ns = s as NSString
        let results = re.matches(in: s, options: [], range: NSRange(location: 0, length: ns.length))
        if results.isEmpty { return [] }
        // UTF-16 offset -> UTF-8 offset.
        var u16to8: [Int] = []
        u16to8.reserveCapacity(ns.length + 1)
        var b = 0
        for c in s.unicodeScalars {
            let w16 = c.value > 0xFFFF ? 2 : 1
            for _ in 0..<w16 { u16to8.append(b) }
            b += UTF8.width(c)
        }
        u16to8.append(b)
        var out: [Range<Int>] = []
        for m in results where m.range.location != NSNotFound {
            let lo = u16to8[m.range.location], hi = u16to8[m.range.location + m.range.length]
            if hi > lo { out.append(lo..<hi) }
        }
        return out
    }
}
