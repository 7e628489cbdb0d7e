// BrevityKit's SummaryRequest is the one list of request fields: the service's body reader, `brevity
// summarize --params` and the library's typed values all end in SummaryRequest.validate, so a value past
// a bound is refused with the same field and reason on every surface, and every field read from JSON lands
// where the decoder reads it.

import BrevityKit
import Foundation
import XCTest
@testable import Serving

final class SummaryRequestFieldTests: XCTestCase {
    func body(_ fields: [String: Any]) throws -> SummarizeRequest {
        let json = fields.merging(["texts": ["A text to summarize."]]) { given, _ in given }
        return try SummarizeRequest.parse(Array(try JSONSerialization.data(withJSONObject: json)), maxTexts: 8)
    }

    /// The library's typed values and a request body's JSON are checked in one place: every value past a
    /// field's bound is refused with the same field and reason both ways.
    func testTypedValuesAndRequestBodiesAreRefusedAlike() throws {
        var cases: [(SummaryRequest, [String: Any])] = []
        func add(_ json: [String: Any], _ set: (inout SummaryRequest) -> Void) {
            var o = SummaryRequest()
            set(&o)
            cases.append((o, json))
        }
        add(["num_beams": 0]) { $0.numBeams = 0 }
        add(["max_length": 1]) { $0.maxLength = 1 }
        add(["min_length": -1]) { $0.minLength = -1 }
        add(["max_new_tokens": 0]) { $0.maxNewTokens = 0 }
        add(["min_new_tokens": -3]) { $0.minNewTokens = -3 }
        add(["no_repeat_ngram_size": -1]) { $0.noRepeatNgramSize = -1 }
        add(["repetition_penalty": 0.0]) { $0.repetitionPenalty = 0 }
        add(["temperature": -0.5]) { $0.temperature = -0.5 }
        add(["top_k": -1]) { $0.topK = -1 }
        add(["top_p": 1.25]) { $0.topP = 1.25 }
        add(["top_k": 1e16]) { $0.topK = 10_000_000_000_000_000 }
        add(["do_sample": true, "num_beams": 3]) { $0.doSample = true; $0.numBeams = 3 }
        add(["num_sentences": 0]) { $0.length = .sentences(0) }
        add(["ratio": 1.5]) { $0.length = .ratio(1.5) }
        add(["prefix": String(repeating: "p", count: 1001)]) { $0.prefix = String(repeating: "p", count: 1001) }
        for (typed, json) in cases {
            var fromJSON: APIError?
            do { _ = try body(json) } catch { fromJSON = error as? APIError }
            var fromTyped: SummarizerError?
            do { try typed.validate() } catch { fromTyped = error as? SummarizerError }
            let unwrapped = try XCTUnwrap(fromJSON, "\(json) accepted")
            XCTAssertEqual(fromTyped, .invalidOption(unwrapped.field ?? "?", unwrapped.message), "\(json)")
        }
    }

    /// Each field's JSON value lands in the request (generation values in the generation config the
    /// decoder resolves), in both shapes, through generate_parameters too.
    func testEveryFieldLandsWhereItIsRead() throws {
        let r = try body(["num_beams": 2, "max_length": 30, "min_length": 3, "max_new_tokens": 9, "min_new_tokens": 2,
                          "length_penalty": 0.5, "no_repeat_ngram_size": 3, "early_stopping": "never", "repetition_penalty": 1.2,
                          "do_sample": false, "temperature": 0.7, "top_k": 5, "top_p": 0.9, "seed": 9_223_372_036_854_775_807,
                          "truncation": "chunk", "mode": "extractive", "num_sentences": 4, "prefix": "p: ", "strategy": "lead"])
        let g = r.generation
        XCTAssertEqual(g.numBeams, 2); XCTAssertEqual(g.maxLength, 30); XCTAssertEqual(g.minLength, 3)
        XCTAssertEqual(g.maxNewTokens, 9); XCTAssertEqual(g.minNewTokens, 2); XCTAssertEqual(g.lengthPenalty, 0.5)
        XCTAssertEqual(g.noRepeatNgramSize, 3); XCTAssertEqual(g.earlyStopping, .never); XCTAssertEqual(g.repetitionPenalty, 1.2)
        XCTAssertEqual(g.doSample, false); XCTAssertEqual(g.temperature, 0.7); XCTAssertEqual(g.topK, 5)
        XCTAssertEqual(g.topP, 0.9); XCTAssertEqual(g.seed, UInt64(Int64.max))
        XCTAssertEqual(r.truncation, .chunk); XCTAssertEqual(r.mode, .extractive); XCTAssertEqual(r.length, .sentences(4))
        XCTAssertEqual(r.prefix, "p: "); XCTAssertEqual(r.strategy, .lead)
        XCTAssertEqual(try body(["ratio": 0.25]).extractiveLength, .ratio(0.25))
        XCTAssertEqual(try body(["max_new_tokens": 40, "min_length": 10]).extractiveLength, .tokenRange(minimum: 10, maximum: 40))
        // every wire name of truncation, and early_stopping's booleans
        for (name, value) in SummaryRequest.Truncation.wireNames {
            XCTAssertEqual(try body(["truncation": name]).truncation, value, name)
        }
        XCTAssertEqual(try body(["early_stopping": true]).generation.earlyStopping, .on)
        // the Hugging Face shape reads parameters, and the four fields it may give beside inputs
        let hf = try SummarizeRequest.parse(Array(try JSONSerialization.data(withJSONObject: [
            "inputs": "A text.", "prefix": "q: ", "parameters": ["num_beams": 3, "generate_parameters": ["top_k": 7]],
        ])), maxTexts: 8)
        XCTAssertEqual(hf.numBeams, 3); XCTAssertEqual(hf.topK, 7); XCTAssertEqual(hf.prefix, "q: ")
        // no field is read twice or left out of the table's generation copy
        XCTAssertEqual(Set(SummaryRequest.fields.map(\.spec.name)).count, SummaryRequest.fields.count)
        XCTAssertEqual(SummaryRequest.fields.filter(\.isGeneration).count, 14)
    }

    /// `brevity summarize --params` takes generation values only, strictly, through the same reader.
    func testGenerationParametersAreReadStrictly() throws {
        let r = try SummarizeRequest.generationParameters(["num_beams": 2, "early_stopping": "never", "length_penalty": 0.5, "seed": 3])
        XCTAssertEqual(r.numBeams, 2)
        XCTAssertEqual(r.earlyStopping, .never)
        XCTAssertEqual(r.lengthPenalty, 0.5)
        XCTAssertEqual(r.seed, 3)
        for (json, field) in [(["nm_beams": 2], "nm_beams"), (["num_beams": "4"], "num_beams"), (["num_beams": 0], "num_beams"),
                              (["num_beams": 2.5], "num_beams"), (["early_stopping": "sometimes"], "early_stopping"),
                              (["top_p": 1.5], "top_p"), (["temperature": 0], "temperature"), (["do_sample": 1], "do_sample"),
                              (["max_length": true], "max_length"), (["repetition_penalty": -1], "repetition_penalty"),
                              (["seed": -1], "seed"), (["seed": 1e19], "seed"), (["prefix": "x"], "prefix"),
                              (["num_return_sequences": 2], "num_return_sequences")]
            as [([String: Any], String)] {
            XCTAssertThrowsError(try SummarizeRequest.generationParameters(json), "\(json)") { e in
                XCTAssertEqual((e as? APIError)?.field, field, "\(e)")
            }
        }
    }
}
