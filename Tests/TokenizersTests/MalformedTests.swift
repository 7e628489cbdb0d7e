import Foundation
import XCTest
@testable import Tokenizers

/// Broken or unsupported tokenizer.json files are errors that name the field or component.
final class MalformedTests: XCTestCase {
    func expectError(_ json: String, mentions needle: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Tokenizer(json: try JSONValue.parse(json))
            XCTFail("expected an error mentioning \"\(needle)\"", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".lowercased().contains(needle.lowercased()), "error \"\(error)\" does not mention \"\(needle)\"", file: file, line: line)
        }
    }

    let bpe = #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#

    func testInlineCases() {
        expectError(#"{"added_tokens": []}"#, mentions: "model")
        expectError(#"{"model": {"type": "Frobnicate"}}"#, mentions: "frobnicate")
        expectError(#"{"model": \#(bpe), "normalizer": {"type": "Frobnicate"}}"#, mentions: "normalizer")
        expectError(#"{"model": \#(bpe), "pre_tokenizer": {"type": "Nope"}}"#, mentions: "pre_tokenizer")
        expectError(#"{"model": \#(bpe), "post_processor": {"type": "Nope"}}"#, mentions: "post_processor")
        expectError(#"{"model": \#(bpe), "decoder": {"type": "Nope"}}"#, mentions: "decoder")
        expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a zz"]}}"#, mentions: "model.merges[0]")
        expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#, mentions: "model.merges[0]")
        expectError(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#, mentions: "model.vocab.a")
        expectError(#"{"model": {"type": "WordPiece", "unk_token": "[UNK]"}}"#, mentions: "model.vocab")
        expectError(#"{"model": {"type": "Unigram", "vocab": [["a", "high"]]}}"#, mentions: "model.vocab[0]")
        expectError(#"{"model": \#(bpe), "added_tokens": [{"id": 5}]}"#, mentions: "added_tokens[0].content")
        expectError(#"{"model": \#(bpe), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}}"#, mentions: "pre_tokenizer.pattern")
        expectError(#"{"model": \#(bpe), "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}}"#, mentions: "behavior")
        expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}}"#, mentions: "dropout")
        expectError(#"{"model": \#(bpe), "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Bogus"}]}}"#, mentions: "pre_tokenizer.pretokenizers[0]")
        expectError(#"[1, 2]"#, mentions: "object")
        expectError(#"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#, mentions: "unk_token")
    }

    func testNotJSON() {
        XCTAssertThrowsError(try JSONValue.parse("{\"model\": ")) { XCTAssertTrue("\($0)".contains("invalid JSON")) }
        XCTAssertThrowsError(try JSONValue.parse("{\"a\": 1} trailing"))
        XCTAssertThrowsError(try JSONValue.parse("{\"a\": \"\\ud800\"}"))
    }

    func testMissingFileNamesThePath() {
        XCTAssertThrowsError(try Tokenizer.load(from: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/tokenizer.json"))
        }
    }

    /// The committed broken files (Tests/Fixtures/tokenizers/malformed).
    func testMalformedFixtures() throws {
        let dir = Fixtures.url("malformed")
        let expected = try Fixtures.json(dir.appendingPathComponent("expected.json"))
        guard case .object(let cases) = expected else { return XCTFail("malformed/expected.json is not an object") }
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for (name, needle) in cases {
            guard let n = needle.stringValue else { continue }
            do {
                _ = try Tokenizer.load(from: dir.appendingPathComponent(name))
                XCTFail("\(name): loaded without error")
            } catch {
                XCTAssertTrue("\(error)".lowercased().contains(n.lowercased()), "\(name): error \"\(error)\" does not mention \"\(n)\"")
            }
        }
    }
}
