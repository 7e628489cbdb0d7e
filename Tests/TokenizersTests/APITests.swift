import Foundation
import XCTest
@testable import Tokenizers

/// Behaviours of the public API beyond the parity corpus.
final class APITests: XCTestCase {
    func bart() throws -> Tokenizer { try Tokenizer.load(from: Fixtures.url("bart")) }

    func testTruncationKeepsSpecialTokens() throws {
        let tok = try bart()
        let e = try tok.encode("one two three four five six seven", truncation: .maxLength(4, .right))
        XCTAssertEqual(e.ids.count, 4)
        XCTAssertEqual(e.ids.first, 0)
        XCTAssertEqual(e.ids.last, 2)
        XCTAssertTrue(e.truncated)
        let left = try tok.encode("one two three four five six seven", truncation: .maxLength(4, .left))
        XCTAssertEqual(tok.decode(left.ids, skipSpecialTokens: true), " six seven")
    }

    func testTruncationSmallerThanSpecialTokensIsAnError() throws {
        XCTAssertThrowsError(try bart().encode("hello", truncation: .maxLength(1, .right))) {
            XCTAssertTrue("\($0)".contains("max_length"))
        }
    }

    func testDecodeSkipsSpecialTokensAndCleansUpOnRequest() throws {
        let tok = try bart()
        let ids = try tok.encode("Hello , world . It 's fine").ids
        XCTAssertEqual(tok.decode(ids), "<s>Hello , world . It 's fine</s>")
        XCTAssertEqual(tok.decode(ids, skipSpecialTokens: true), "Hello , world . It 's fine")
        XCTAssertEqual(tok.decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: true), "Hello, world. It's fine")
    }

    func testCleanUpDefaultComesFromTokenizerConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-cleanup-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("bart/tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
        XCTAssertFalse(try Tokenizer.load(from: dir).cleanUpTokenizationSpaces, "default is false, as in transformers 5")
        try Data(#"{"clean_up_tokenization_spaces": true}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let tok = try Tokenizer.load(from: dir)
        XCTAssertTrue(tok.cleanUpTokenizationSpaces)
        XCTAssertEqual(tok.decode(try tok.encode("a , b").ids, skipSpecialTokens: true), "a, b")
    }

    func testVocabularyLookups() throws {
        let tok = try bart()
        XCTAssertEqual(tok.tokenToId("<mask>"), 50264)
        XCTAssertEqual(tok.idToToken(2), "</s>")
        XCTAssertEqual(tok.vocabSize, 50265)
        XCTAssertEqual(tok.specialTokenIds, [0, 1, 2, 3, 50264])
        XCTAssertEqual(tok.numSpecialTokensToAdd, 2)
    }

    /// Canonically equivalent spellings stay distinct tokens (Swift's String equality would merge them).
    func testNoCanonicalEquivalenceInLookups() throws {
        let tok = try Tokenizer.load(from: Fixtures.url("bytefallback/tokenizer.json"))
        let nfc = try tok.encode("caf\u{E9}", addSpecialTokens: false).ids
        let nfd = try tok.encode("cafe\u{301}", addSpecialTokens: false).ids
        XCTAssertNotEqual(nfc, nfd)
    }

    func testConcurrentEncodesAgree() throws {
        let tok = try bart()
        let texts = Array(Fixtures.corpus.prefix(200))
        let expected = try texts.map { try tok.encode($0).ids }
        var results = [[Int]](repeating: [], count: texts.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: texts.count) { i in
            let ids = (try? tok.encode(texts[i]).ids) ?? []
            lock.lock(); results[i] = ids; lock.unlock()
        }
        XCTAssertEqual(results, expected)
    }
}
