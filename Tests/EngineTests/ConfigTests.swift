// Generation defaults and request validation.

import Foundation
import Generation
import XCTest

final class ConfigTests: XCTestCase {
    /// A model config with only its special tokens (transformers' global defaults for the rest).
    var plain: GenerationConfig {
        var c = GenerationConfig()
        c.eosTokenId = [2]
        c.decoderStartTokenId = 2
        return c
    }

    func testDefaultsFromGenerationConfigThenConfigJSON() throws {
        let bart = try GenerationConfig.model(folder: Fixtures.bart.appendingPathComponent("bart-tiny"))
            .resolve(maxPositions: 96)
        XCTAssertEqual(bart.numBeams, 4)
        XCTAssertEqual(bart.maxLength, 30)
        XCTAssertEqual(bart.minLength, 6)
        XCTAssertEqual(bart.lengthPenalty, 2)
        XCTAssertEqual(bart.noRepeatNgramSize, 3)
        XCTAssertEqual(bart.earlyStopping, .on)
        XCTAssertEqual(bart.forcedBosTokenId, 0)
        XCTAssertEqual(bart.forcedEosTokenIds, [2])
        XCTAssertEqual(bart.decoderStartTokenId, 2)
        // mbart-tiny has no generation_config.json: config.json's fields
        let mbart = try GenerationConfig.model(folder: Fixtures.bart.appendingPathComponent("mbart-tiny"))
            .resolve(maxPositions: 80)
        XCTAssertEqual(mbart.numBeams, 2)
        XCTAssertEqual(mbart.maxLength, 20)
        XCTAssertEqual(mbart.earlyStopping, .on)
        // no max_length anywhere: 20 new tokens
        XCTAssertEqual(try plain.resolve(maxPositions: 1024).maxLength, 21)
        var r = GenerationConfig()
        r.maxNewTokens = 5
        r.minNewTokens = 3
        let c = try plain.resolve(request: r, maxPositions: 1024)
        XCTAssertEqual(c.maxLength, 6)
        XCTAssertEqual(c.minLength, 4)
    }

    func testRequestsPastTheModelAreRefusedWhenResolved() throws {
        var big = GenerationConfig()
        big.maxLength = 5000
        XCTAssertThrowsError(try plain.resolve(request: big, maxPositions: 1024)) { XCTAssertTrue("\($0)".contains("max_length")) }
        var nrs = GenerationConfig()
        nrs.numReturnSequences = 3
        XCTAssertThrowsError(try plain.resolve(request: nrs, maxPositions: 1024))
    }
}
