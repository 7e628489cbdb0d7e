import BrevityKit
import Foundation
import Generation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Models
import NIOCore
import Tensor
import XCTest
@testable import Serving

/// POST /summarize on a T5 folder (Tests/Fixtures/seq2seq/t5-e2e: tiny random weights, the real T5
/// tokenizer, t5-small's task_specific_params): the task prefix by default, a request's "prefix" over it,
/// "" for none, the task's generation values under the request's; summaries equal transformers'
/// (expected.json, scripts/fixtures/seq2seq/make_fixtures.py). Inputs are cut at the tokenizer's
/// model_max_length, T5 having no position table.
final class FamilyServiceTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/seq2seq/t5-e2e")

    /// The served document's length maxima are the model's positions, where generation starts refusing: for
    /// T5 Brevity's bound on one sequence (it has no position table), not the tokenizer's input limit (64);
    /// for BART its position table.
    func testServedLengthMaximaAreWhereGenerationRefuses() async throws {
        for (folder, positions) in [(Self.folder, T5ForConditionalGeneration.sequenceBound), (ServingFixtures.folder, 64)] {
            let engine = try SummarizationEngine.load(folder: folder, name: folder.lastPathComponent, weightType: .f32,
                                                      backend: CPUBackend.shared)
            XCTAssertEqual(engine.model.maxPositions, positions)
            let (app, _, _) = buildApplication(config: testConfig(), engine: engine)
            try await app.test(.router) { client in
                let doc = json(try await client.execute(uri: "/openapi.json", method: .get).body) as? [String: Any]
                let schemas = (doc?["components"] as? [String: Any])?["schemas"] as? [String: Any]
                let props = (schemas?["GenerationParameters"] as? [String: Any])?["properties"] as? [String: [String: Any]]
                for (field, most) in [("max_new_tokens", positions), ("max_length", positions + 1)] {
                    XCTAssertEqual((props?[field]?["maximum"] as? NSNumber)?.intValue, most, "\(folder.lastPathComponent) \(field)")
                    var request = GenerationConfig()
                    if field == "max_length" { request.maxLength = most } else { request.maxNewTokens = most }
                    XCTAssertNoThrow(try engine.resolve(request), "\(field) = \(most), the document's maximum")
                    if field == "max_length" { request.maxLength = most + 1 } else { request.maxNewTokens = most + 1 }
                    XCTAssertThrowsError(try engine.resolve(request), "\(field) past the document's maximum") { error in
                        guard case let .invalidParameter(name, _)? = error as? GenerationError else { return XCTFail("\(error)") }
                        XCTAssertEqual(name, field)
                    }
                }
            }
        }
    }

    func testT5TaskPrefixAndRequestPrefixOverHTTP() async throws {
        let engine = try SummarizationEngine.load(folder: Self.folder, name: "t5-e2e", weightType: .f32, backend: CPUBackend.shared)
        XCTAssertEqual(engine.taskPrefix, "summarize: ")
        XCTAssertEqual(engine.model.modelType, "t5")
        XCTAssertEqual(engine.maxInputTokens, 64, "the tokenizer's model_max_length")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("expected.json"))) as! [String: Any]
        let requests = expected["requests"] as! [[String: Any]]
        let (app, scheduler, _) = buildApplication(config: testConfig { $0.model = "t5-e2e" }, engine: engine)
        try await waitReady(scheduler)
        try await app.test(.ahc(.http)) { client in
            var checked = 0
            for request in requests {
                let cases = request["cases"] as! [[String: Any]]
                var payload = request["params"] as! [String: Any]
                payload["texts"] = cases.map { $0["text"] as! String }
                if (request["prefix"] as! String).isEmpty { payload["prefix"] = "" }
                let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(payload))
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let summaries = (json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]] ?? []
                XCTAssertEqual(summaries.count, cases.count)
                for (s, c) in zip(summaries, cases) {
                    XCTAssertEqual(s["text"] as? String, c["summary"] as? String, "\(request["name"]!): \(c["text"]!)")
                    XCTAssertEqual(s["input_tokens"] as? Int, try engine.inputIds(c["text"] as! String,
                                                                                  prefix: (request["prefix"] as! String), truncate: false).tokens)
                    checked += 1
                }
                // the ids the service encodes are transformers' (prefix included, cut at model_max_length)
                for c in cases {
                    XCTAssertEqual(try engine.inputIds(c["text"] as! String, prefix: request["prefix"] as? String).ids, ints(c["input_ids"]))
                }
            }
            XCTAssertGreaterThanOrEqual(checked, 10)
            // a request's own prefix replaces the task's: "summarize: " given explicitly is the default
            let first = requests[0]["cases"] as! [[String: Any]]
            let explicit = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                                    body: body(["texts": [first[0]["text"]!], "prefix": "summarize: "]))
            XCTAssertEqual(((json(explicit.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first?["text"] as? String,
                           first[0]["summary"] as? String)
            let bad = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                               body: body(["texts": ["x"], "prefix": 5]))
            XCTAssertEqual(bad.status, .unprocessableContent)
            XCTAssertEqual(errorOf(bad)?.field, "prefix")
            let health = try await client.execute(uri: "/health", method: .get)
            let types = (json(health.body) as? [String: Any])?["supported_model_types"] as? [String: String]
            XCTAssertEqual(types?["t5"], "summarizer")
            XCTAssertEqual(types?["pegasus"], "summarizer")
            XCTAssertEqual(types?["bert"], "sentenceEncoder")
        }
    }

    func testUnsupportedModelTypeListsTheSupportedOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-type-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"model_type": "gpt2"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelRegistry.load(folder: dir, backend: CPUBackend.shared)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("'gpt2'") && m.contains("pegasus") && m.contains("t5") && m.contains("bert"), m)
        }
        // a sentence encoder is not a summarizer, and the other way round
        try Data(#"{"model_type": "bert"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelRegistry.load(folder: dir, backend: CPUBackend.shared)) { XCTAssertTrue("\($0)".contains("sentence encoder"), "\($0)") }
        try Data(#"{"model_type": "t5"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelRegistry.loadEncoder(folder: dir, backend: CPUBackend.shared)) { XCTAssertTrue("\($0)".contains("summarizer"), "\($0)") }
    }
}

private func ints(_ any: Any?) -> [Int] { ((any as? [Any]) ?? []).map { ($0 as! NSNumber).intValue } }
