import Foundation
import XCTest
import Tokenizers

/// tokenizer.json inputs that crashed the libFuzzer target FuzzTokenizerJSON (Fuzz/, `make fuzz`), minimized,
/// and their siblings: each must be refused with an error naming the field, never trap or allocate gigabytes.
final class FuzzRegressionTests: XCTestCase {
    func load(_ json: String) throws -> Tokenizer { try Tokenizer(json: try JSONValue.parse(json)) }

    func refuse(_ json: String, mentions needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(json), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(needle), "error \"\($0)\" does not mention \"\(needle)\"", file: file, line: line)
        }
    }

    /// crash-f7afb3df878038af0c5027c65027d65f9735f070, minimized: one BPE token with id 244444299 sized the
    /// id -> token table at 3.9 GB (an id past Int32 trapped where merges keep ids as Int32).
    func testBPEIdFarBeyondTheVocabulary() throws {
        refuse(#"{"model":{"vocab":{"":244444299},"merges":[]}}"#, mentions: "model.vocab: id 244444299 is far beyond")
        refuse(#"{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":3000000000},"merges":["a b"]}}"#, mentions: "model.vocab")
        // the committed crash file itself
        let crash = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/tokenizer-bpe-id-crash-f7afb3df.json")
        XCTAssertThrowsError(try Tokenizer.load(from: crash)) { XCTAssertTrue("\($0)".contains("far beyond"), "\($0)") }
        // unused ids below the bound are still accepted, as Hugging Face accepts them
        let tok = try load(#"{"model":{"type":"BPE","vocab":{"a":0,"b":5,"ab":9},"merges":["a b"]}}"#)
        XCTAssertEqual(try tok.encode("ab").ids, [9])
        XCTAssertEqual(tok.idToToken(5), "b")
        XCTAssertNil(tok.idToToken(3))
        XCTAssertEqual(tok.decode([0, 3, 5, 1_000_000]), "a b")   // unknown ids skipped; no decoder: joined by spaces
    }

    /// Found beside the crash above: padding to {"Fixed": 9e14} or to a multiple of 9e14 made every encode
    /// allocate terabytes. Padding lengths are bounded by `Tokenizer.maxPaddedLength`.
    func testPaddingLengthsAreBounded() throws {
        let model = #""model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#
        refuse(#"{\#(model),"padding":{"strategy":{"Fixed":900000000000000}}}"#, mentions: "padding.strategy.Fixed")
        refuse(#"{\#(model),"padding":{"strategy":"BatchLongest","pad_to_multiple_of":900000000000000}}"#,
               mentions: "padding.pad_to_multiple_of")
        refuse(#"{\#(model),"padding":{"strategy":{"Fixed":-1}}}"#, mentions: "padding.strategy.Fixed")
        let tok = try load(#"{\#(model),"padding":{"strategy":{"Fixed":4},"pad_id":1,"pad_token":"b","pad_to_multiple_of":null}}"#)
        let enc = try tok.encode("ab")
        XCTAssertEqual(enc.ids, [2, 1, 1, 1])
        XCTAssertEqual(enc.attentionMask, [1, 0, 0, 0])
        XCTAssertNoThrow(try load(#"{\#(model),"padding":{"strategy":{"Fixed":\#(Tokenizer.maxPaddedLength)}}}"#))
    }
}
