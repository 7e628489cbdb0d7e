// Hostile request bodies, each answered with a clear status (never a crash, a hang or
// a wrong answer), and the service keeps serving after every one. Checkpoint and model-path cases are in
// WeightTests, PyTorchCheckpointTests and HubResolutionTests.

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest
@testable import Serving

final class HostileInputTests: XCTestCase {
    func withApp(_ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            try await test(client)
            let ok = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(["texts": ["Still serving."]]))
            XCTAssertEqual(ok.status, .ok, "the service answers after the hostile inputs")
        }
    }

    func raw(_ client: any TestClientProtocol, _ text: String, uri: String = "/summarize") async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: ByteBuffer(string: text))
    }

    func testDeeplyNestedJSONIsA400() async throws {
        try await withApp { client in
            for depth in [600, 100_000] {
                for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                    let nested = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
                    for doc in [nested, "{\"texts\": [\"a\"], \"num_beams\": \(nested)}"] {
                        let r = try await self.raw(client, doc)
                        XCTAssertTrue([400, 422].contains(r.status.code), "depth \(depth): \(r.status)")
                        XCTAssertNotNil(errorOf(r), "a JSON error body")
                    }
                }
            }
        }
    }

    func testNonFiniteAndHugeNumbersAreRefusedByField() async throws {
        try await withApp { client in
            for v in ["NaN", "Infinity", "-Infinity"] {
                let r = try await self.raw(client, "{\"texts\": [\"a\"], \"temperature\": \(v)}")
                XCTAssertEqual(r.status, .badRequest, v)
            }
            for (field, v) in [("temperature", "1e400"), ("top_p", "1e400"), ("repetition_penalty", "-1e400"), ("length_penalty", "1e400"),
                               ("max_length", "1e400"), ("num_beams", "1e30"), ("seed", "1e400"), ("num_beams", "18446744073709551617")] {
                let r = try await self.raw(client, "{\"texts\": [\"a\"], \"do_sample\": true, \"\(field)\": \(v)}")
                XCTAssertTrue([400, 422].contains(r.status.code), "\(field)=\(v): \(r.status) \(String(buffer: r.body))")
                if r.status == .unprocessableContent { XCTAssertEqual(errorOf(r)?.field, field, v) }
            }
        }
    }

    /// generate_parameters is an object or null on both routes and in both shapes (Schemathesis found a
    /// string and an array answered 200): anything else is a 422 naming it, with a JSON error body.
    func testGenerateParametersOfTheWrongTypeAreA422NamingTheField() async throws {
        try await withApp { client in
            for uri in ["/summarize", "/summarize/stream"] {
                for value in ["\"max_new_tokens\"", "[1, 2]", "7", "true"] {
                    for (doc, field) in [("{\"texts\": [\"a\"], \"generate_parameters\": \(value)}", "generate_parameters"),
                                         ("{\"inputs\": \"a\", \"parameters\": {\"generate_parameters\": \(value)}}",
                                          "parameters.generate_parameters")] {
                        let r = try await self.raw(client, doc, uri: uri)
                        XCTAssertEqual(r.status, .unprocessableContent, "\(uri) \(doc)")
                        XCTAssertEqual(errorOf(r)?.field, field, "\(uri) \(doc)")
                    }
                }
            }
        }
    }

    /// A 1 MB single word and 200,000 combining marks on one letter: summarized (cut to the model's
    /// window) in bounded time. The bound is a hang detector, not a benchmark: a BPE that went quadratic
    /// on one word would take hours here.
    func testHugeWordsAreAnsweredInBoundedTime() async throws {
        try await withApp { client in
            let word = String(repeating: "abcdefghij", count: 100_000)
            let marks = "e" + String(repeating: "\u{0301}", count: 200_000)
            for (name, text) in [("1 MB word", word), ("combining marks", marks)] {
                let t0 = Date()
                let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                                 body: body(["texts": [text], "max_length": 8, "num_beams": 1]))
                XCTAssertEqual(r.status, .ok, "\(name): \(String(buffer: r.body).prefix(300))")
                let s = ((json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first
                XCTAssertEqual(s?["truncated"] as? Bool, true, name)
                XCTAssertGreaterThan(s?["input_tokens"] as? Int ?? 0, 64, name)
                XCTAssertLessThan(Date().timeIntervalSince(t0), 120, "\(name) took too long")
            }
        }
    }

    func testControlCharactersAndTypedSpecialTokensAreText() async throws {
        try await withApp { client in
            let controls = (0..<32).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\u{7F}\u{2028}\u{FEFF}"
            for text in ["Start." + controls + "End.", "</s><s><pad><unk> typed as text </s>", "<s>", "\u{0000}", "   ", "\r\n\t"] {
                let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                                 body: body(["texts": [text], "max_length": 8]))
                XCTAssertEqual(r.status, .ok, "\(text.debugDescription): \(String(buffer: r.body))")
            }
        }
    }

    func testHugeBeamsAndLengthsAre422NamingTheField() async throws {
        try await withApp { client in
            for (params, field) in [(["num_beams": 64, "max_length": 1_000_000], "max_length"),
                                    (["num_beams": 65], "num_beams"), (["num_beams": 1_000_000_000], "num_beams"),
                                    (["num_beams": 64, "max_new_tokens": 1 << 40], "max_new_tokens"),
                                    (["max_new_tokens": Int.max], "max_new_tokens"), (["max_length": Int.max], "max_length"),
                                    (["max_length": 1_000, "max_new_tokens": 5], "max_length")] as [([String: Any], String)] {
                var request = params
                request["texts"] = ["A short text."]
                let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(request))
                XCTAssertEqual(r.status, .unprocessableContent, "\(params): \(String(buffer: r.body))")
                XCTAssertEqual(errorOf(r)?.field, field, "\(params)")
            }
            // a minimum past the maximum is transformers' semantics, not an error: decoding runs to max_length
            for params in [["min_length": 1 << 40], ["min_new_tokens": 1 << 40, "max_new_tokens": 5], ["min_length": 9, "max_length": 6]]
                as [[String: Any]] {
                var request = params
                request["texts"] = ["A short text."]
                request["num_beams"] = 1
                let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(request))
                XCTAssertEqual(r.status, .ok, "\(params): \(String(buffer: r.body))")
                let generated = ((json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first?["generated_tokens"] as? Int
                if params["max_new_tokens"] != nil { XCTAssertEqual(generated, 5, "\(params)") }
                if params["max_length"] != nil { XCTAssertEqual(generated, 5, "\(params): max_length 6 = start token + 5") }
            }
            // 64 beams within the model's positions is served
            let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                             body: body(["texts": ["A short text."], "num_beams": 64, "max_length": 12]))
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
        }
    }
}
