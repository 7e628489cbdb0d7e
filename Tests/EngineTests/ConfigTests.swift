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

    func testRequestOverridesAndValidation() throws {
        let r = try GenerationConfig.request(["num_beams": 2, "early_stopping": "never", "length_penalty": 0.5, "seed": 3])
        XCTAssertEqual(r.numBeams, 2)
        XCTAssertEqual(r.earlyStopping, .never)
        XCTAssertEqual(r.lengthPenalty, 0.5)
        XCTAssertEqual(r.seed, 3)
        for (json, field) in [(["nm_beams": 2], "nm_beams"), (["num_beams": "4"], "num_beams"), (["num_beams": 0], "num_beams"),
                              (["num_beams": 2.5], "num_beams"), (["early_stopping": "sometimes"], "early_stopping"),
                              (["top_p": 1.5], "top_p"), (["temperature": 0], "temperature"), (["do_sample": 1], "do_sample"),
                              (["max_length": true], "max_length"), (["repetition_penalty": -1], "repetition_penalty")]
            as [([String: Any], String)] {
            XCTAssertThrowsError(try GenerationConfig.request(json), "\(json)") { e in
                XCTAssertTrue("\(e)".contains(field), "\(e)")
            }
        }
        var big = GenerationConfig()
        big.maxLength = 5000
        XCTAssertThrowsError(try plain.resolve(request: big, maxPositions: 1024)) { XCTAssertTrue("\($0)".contains("max_length")) }
        var nrs = GenerationConfig()
        nrs.numReturnSequences = 3
        XCTAssertThrowsError(try plain.resolve(request: nrs, maxPositions: 1024))
    }
}
