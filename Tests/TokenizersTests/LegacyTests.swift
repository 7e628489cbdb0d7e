import Foundation
import XCTest
@testable import Tokenizers

/// The legacy file sets (vocab.json + merges.txt, vocab.txt) give the same ids and decodes as the
/// tokenizer.json built from them.
final class LegacyTests: XCTestCase {
    func compare(legacy: URL, reference: URL, skipEmpty: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try Tokenizer.load(from: legacy)
        let b = try Tokenizer.load(from: reference)
        var mismatches = 0
        var first: String? = nil
        for text in Fixtures.corpus {
            let ea = try a.encode(text, truncation: .none, padding: false)
            let eb = try b.encode(text, truncation: .none, padding: false)
            if ea.ids != eb.ids || a.decode(ea.ids, skipSpecialTokens: true) != b.decode(eb.ids, skipSpecialTokens: true) {
                mismatches += 1
                if first == nil { first = "\"\(visible(text))\": \(ea.ids) vs \(eb.ids)" }
            }
        }
        XCTAssertGreaterThan(Fixtures.corpus.count, 0)
        XCTAssertEqual(mismatches, 0, "first mismatch: \(first ?? "")", file: file, line: line)
    }

    func testGPT2VocabAndMerges() throws {
        try compare(legacy: Fixtures.url("gpt2-legacy"), reference: Fixtures.url("gpt2/tokenizer.json"))
    }

    func testBARTVocabAndMerges() throws {
        try compare(legacy: Fixtures.url("bart-legacy"), reference: Fixtures.url("bart/tokenizer.json"))
    }

    func testMiniLMVocabTxt() throws {
        // A folder holding only vocab.txt and tokenizer_config.json.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-vocabtxt-\(getpid())")
        try? FileManager.default.removeItem(at: tmp)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for f in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.url("minilm").appendingPathComponent(f), to: tmp.appendingPathComponent(f))
        }
        try compare(legacy: tmp, reference: Fixtures.url("minilm/tokenizer.json"))
    }
}
