import Foundation
import XCTest
@testable import Tokenizers

/// The shortcuts taken for speed give what the general code gives, on random text that mixes ASCII, CR LF,
/// combining marks, emoji sequences, controls and the characters the shortcuts look for.
final class FastPathTests: XCTestCase {
    static let pool: [String] = [
        "a", "Z", " ", "  ", "\t", "\n", "\r", "\r\n", "\u{0}", "\u{1F}", "\u{7F}", ".", "'", "<", "é", "e\u{301}", "\u{301}",
        "\u{300}\u{316}", "ﬁ", "Å", "ｶﾞ", "①", "\u{A0}", "\u{3000}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{2028}", "▁", "▁▁",
        "👍🏽", "👨‍👩‍👧", "🇫🇷", "1️⃣", "\u{E0041}", "한", "\u{1100}\u{1161}", "中", "ก", "ि", "\u{85}", "x\u{308}\u{308}\u{308}",
    ]

    func randomStrings(_ count: Int, seed: UInt64) -> [String] {
        var rng = seed
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: rng >> 33)
        }
        return (0..<count).map { _ in (0..<(next() % 12)).map { _ in Self.pool[next() % Self.pool.count] }.joined() }
    }

    /// spm_precompiled's algorithm, written plainly: every grapheme cluster through the trie.
    func referenceNormalize(_ map: PrecompiledCharsmap, _ s: String) -> String {
        func lookup(_ key: [UInt8]) -> [UInt8]? {
            func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
            let trie = map.trie
            var pos = offset(trie[0])
            for c in key {
                if c == 0 { return nil }
                pos ^= Int(c)
                guard pos < trie.count else { return nil }
                let unit = trie[pos]
                if (unit & ((1 << 31) | 0xFF)) != UInt32(c) { return nil }
                pos ^= offset(unit)
                guard pos < trie.count else { return nil }
                if (unit >> 8) & 1 == 1 {
                    let index = Int(trie[pos] & ((1 << 31) - 1))
                    guard index < map.normalized.count else { return nil }
                    return Array(map.normalized[index...].prefix { $0 != 0 })
                }
            }
            return nil
        }
        var out: [UInt8] = []
        for g in s {
            let gb = Array(String(g).utf8)
            if gb.count < 6, let n = lookup(gb) { out += n; continue }
            for c in g.unicodeScalars { out += lookup(Array(String(c).utf8)) ?? Array(String(c).utf8) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testPrecompiledMatchesPerGraphemeLookup() throws {
        let json = try Fixtures.json(Fixtures.url("t5/tokenizer.json"))
        guard case .string(let b64)? = json["normalizer"]?["precompiled_charsmap"] else { return XCTFail("no charsmap") }
        let map = try PrecompiledCharsmap(base64: b64, path: "t5")
        for s in randomStrings(5000, seed: 7) + Fixtures.corpus {
            let got = map.normalize(s), want = referenceNormalize(map, s)
            XCTAssertTrue(got.utf8.elementsEqual(want.utf8), "\"\(visible(s))\": \"\(visible(got))\" want \"\(visible(want))\"")
        }
    }

    func testRepeatedCharacterRegexMatchesICU() throws {
        for (source, icu) in [(" {2,}", "(?: ){2,}"), ("a{1,}", "(?:a){1,}"), ("-{3,}", "(?:-){3,}")] {
            let fast = try RegexPattern(source, path: "fast")
            let slow = try RegexPattern(icu, path: "icu")
            XCTAssertNotNil(fast.run, source)
            XCTAssertNil(slow.run, icu)
            for s in randomStrings(3000, seed: 11) + ["", "a", "aa", "   a  ", "---", "--", "a-a--a---"] {
                XCTAssertEqual(fast.matches(in: s), slow.matches(in: s), "\(source) on \"\(visible(s))\"")
            }
        }
        for source in ["\\s{2,}", ".{2,}", " {2,3}", " {,2}", "  {2,}", "{2,}", " {0,}", " {2}"] {
            XCTAssertNil(RegexPattern.repeatedCharacter(source), source)
        }
    }

    /// Single-scalar predicates split as the general match list does (compared with the same splits written
    /// as literals, which take the general path).
    func testPredicateSplitsMatchGeneralPath() {
        for s in randomStrings(5000, seed: 13) {
            for behavior in [SplitBehavior.removed, .mergedWithNext] {
                for lit in [" ", "▁"] {
                    let scalar = lit.unicodeScalars.first!
                    let fast = splitRanges(s, .predicate { $0 == scalar }, behavior).filter { !$0.isEmpty }
                    let general = splitRanges(s, .literal(lit), behavior).filter { !$0.isEmpty }
                    XCTAssertEqual(fast, general, "\(behavior) \(lit) on \"\(visible(s))\"")
                }
            }
        }
    }
}
