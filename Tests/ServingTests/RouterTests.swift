import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest
@testable import Serving

/// Every endpoint and every error path, over loopback sockets.
final class RouterTests: XCTestCase {
    func withApp(_ mutate: (inout ServerConfig) -> Void = { _ in },
                 _ test: @escaping @Sendable (any TestClientProtocol, BatchScheduler, ServiceMetrics) async throws -> Void) async throws {
        let (app, scheduler, metrics) = buildApplication(config: testConfig(mutate), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        // `.live`: /summarize watches its connection for disconnects, which needs a real socket.
        try await app.test(.ahc(.http)) { client in try await test(client, scheduler, metrics) }
    }

    func post(_ client: any TestClientProtocol, _ object: Any, uri: String = "/summarize", headers: HTTPFields = jsonHeaders) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers, body: body(object))
    }

    func testHealthReadyDocsOpenAPI() async throws {
        try await withApp { client, _, _ in
            let h = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(h.status, .ok)
            let o = json(h.body) as? [String: Any]
            XCTAssertEqual(o?["status"] as? String, "ok")
            XCTAssertEqual(o?["model"] as? String, "summarizer-tiny")
            XCTAssertEqual(o?["device"] as? String, "cpu")
            let _r1 = try await client.execute(uri: "/ready", method: .get).status
            XCTAssertEqual(_r1, .ok)
            let docs = try await client.execute(uri: "/docs", method: .get)
            XCTAssertEqual(docs.status, .ok)
            XCTAssertTrue(String(buffer: docs.body).contains("openapi.json"))
            // the browser pages: self-contained HTML whose policy forbids loads from elsewhere
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            for r in [page, docs] {
                let csp = try XCTUnwrap(r.headers[.contentSecurityPolicy])
                XCTAssertTrue(csp.hasPrefix("default-src 'none'; connect-src 'self';"), csp)
                XCTAssertFalse(String(buffer: r.body).contains("http://") || String(buffer: r.body).contains("https://"))
            }
            XCTAssertTrue(String(buffer: page.body).contains("summarize/stream"))
            let spec = try await client.execute(uri: "/openapi.json", method: .get)
            XCTAssertEqual(spec.status, .ok)
            XCTAssertNotNil(json(spec.body) as? [String: Any])
            let _r2 = try await client.execute(uri: "/nope", method: .get).status
            XCTAssertEqual(_r2, .notFound)
        }
    }

    /// Over HTTP, summaries equal transformers' `generate` for the same parameters.
    func testSummariesEqualTransformers() async throws {
        try await withApp { client, _, _ in
            let exp = ServingFixtures.expected
            for (name, setting) in exp.settings.sorted(by: { $0.key < $1.key }) {
                var req = setting.params
                req["texts"] = exp.texts
                let r = try await self.post(client, req)
                XCTAssertEqual(r.status, .ok, "\(name): \(String(buffer: r.body))")
                let o = json(r.body) as? [String: Any]
                let summaries = o?["summaries"] as? [[String: Any]] ?? []
                XCTAssertEqual(summaries.count, exp.texts.count)
                for (i, s) in summaries.enumerated() {
                    XCTAssertEqual(s["text"] as? String, setting.outputs[i].text, "\(name) text \(i)")
                    // input_tokens counts the whole text; the model saw its first 64 tokens when truncated
                    XCTAssertEqual(min(s["input_tokens"] as? Int ?? 0, 64), setting.outputs[i].inputTokens, "\(name) text \(i)")
                    XCTAssertEqual(s["generated_tokens"] as? Int, setting.outputs[i].ids.count - 1, "\(name) text \(i)")
                }
                XCTAssertEqual(o?["model"] as? String, "summarizer-tiny")
                XCTAssertEqual(o?["device"] as? String, "cpu")
                XCTAssertNotNil(o?["latency_ms"] as? Double)
                XCTAssertNotNil(r.headers[.xQueueTime])
                XCTAssertNotNil(r.headers[.xInferenceTime])
                // the 10th text is longer than the model's 64 positions: cut, as the reference services do
                XCTAssertEqual(summaries[9]["truncated"] as? Bool, true)
                XCTAssertEqual(summaries[0]["truncated"] as? Bool, false)
            }
        }
    }

    func testHuggingFaceShape() async throws {
        try await withApp { client, _, _ in
            let exp = ServingFixtures.expected
            let r = try await self.post(client, ["inputs": exp.texts[0], "parameters": exp.settings["greedy"]!.params])
            XCTAssertEqual(r.status, .ok)
            let arr = json(r.body) as? [[String: Any]]
            XCTAssertEqual(arr?.count, 1)
            XCTAssertEqual(arr?.first?["summary_text"] as? String, exp.settings["greedy"]!.outputs[0].text)
            let r2 = try await self.post(client, ["inputs": [exp.texts[1], exp.texts[2]]])
            XCTAssertEqual((json(r2.body) as? [[String: Any]])?.map { $0["summary_text"] as? String ?? "" },
                           [exp.settings["defaults"]!.outputs[1].text, exp.settings["defaults"]!.outputs[2].text])
            // POST / (the Inference Endpoints convention) answers as POST /summarize, both shapes
            let root = try await self.post(client, ["inputs": exp.texts[0], "parameters": exp.settings["greedy"]!.params], uri: "/")
            XCTAssertEqual(root.status, .ok)
            XCTAssertEqual((json(root.body) as? [[String: Any]])?.first?["summary_text"] as? String, exp.settings["greedy"]!.outputs[0].text)
            XCTAssertEqual(root.headers[.connection], "close", "POST / watches its connection as /summarize does")
            let originals = try await self.post(client, ["texts": [exp.texts[3]]], uri: "/")
            XCTAssertEqual(((json(originals.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first?["text"] as? String,
                           exp.settings["defaults"]!.outputs[3].text)
            let bad = try await self.post(client, ["inputs": ""], uri: "/")
            XCTAssertEqual(bad.status, .unprocessableContent)
            XCTAssertEqual(errorOf(bad)?.field, "inputs[0]")
        }
    }

    /// The beam limit is checked once, for the beams a request will decode with: its own, else the model's
    /// default (2 for the fixture), in either mode.
    func testTheModelsDefaultBeamsCountAgainstTheBatchLimit() async throws {
        try await withApp({ $0.maxBatchSize = 1 }) { client, _, _ in
            let byDefault = try await self.post(client, ["texts": ["Hello world."]])
            XCTAssertEqual(byDefault.status, .unprocessableContent, String(buffer: byDefault.body))
            XCTAssertEqual(errorOf(byDefault)?.field, "num_beams")
            XCTAssertTrue(errorOf(byDefault)?.message.contains("2 beams") ?? false, String(buffer: byDefault.body))
            let stream = try await self.post(client, ["texts": ["Hello world."]], uri: "/summarize/stream")
            XCTAssertEqual(errorOf(stream)?.field, "num_beams")
            let greedy = try await self.post(client, ["texts": ["Hello world."], "num_beams": 1])
            XCTAssertEqual(greedy.status, .ok, String(buffer: greedy.body))
        }
    }

    /// The typed bodies (ResponseBodies.swift) carry exactly the documented keys: an error's field is null,
    /// not left out, and each shape has its own keys.
    func testResponseBodiesHaveTheDocumentedKeys() async throws {
        try await withApp { client, _, _ in
            let bad = try await self.post(client, ["not", "an object"])
            let e = (json(bad.body) as? [String: Any])?["error"] as? [String: Any]
            XCTAssertEqual(Set(e?.keys.map { $0 } ?? []), ["type", "field", "message"], String(buffer: bad.body))
            XCTAssertTrue(e?["field"] is NSNull || e?["field"] is String, String(buffer: bad.body))
            let malformed = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{"))
            XCTAssertTrue(((json(malformed.body) as? [String: Any])?["error"] as? [String: Any])?["field"] is NSNull,
                          String(buffer: malformed.body))

            let ok = try await self.post(client, ["texts": ["Hello world."], "max_length": 8])
            let o = json(ok.body) as? [String: Any]
            XCTAssertEqual(Set(o?.keys.map { $0 } ?? []), ["summaries", "model", "device", "mode", "latency_ms"])
            let summary = (o?["summaries"] as? [[String: Any]])?.first
            XCTAssertEqual(Set(summary?.keys.map { $0 } ?? []), ["text", "input_tokens", "generated_tokens", "truncated"])
            let hf = try await self.post(client, ["inputs": "Hello world.", "parameters": ["max_length": 8]])
            let list = json(hf.body) as? [[String: Any]]
            XCTAssertEqual(list?.count, 1)
            XCTAssertEqual(Set(list?.first?.keys.map { $0 } ?? []), ["summary_text"])
            XCTAssertEqual(list?.first?["summary_text"] as? String, summary?["text"] as? String)

            // /health: the originals' keys first, then the documented rest; the budget null (written) when none
            let health = try await client.execute(uri: "/health", method: .get)
            let h = try XCTUnwrap(json(health.body) as? [String: Any], String(buffer: health.body))
            let always: Set<String> = ["status", "model", "device", "mode", "modes", "models", "reason", "dtype", "cpu_kernels",
                                       "cpu_products", "supported_model_types", "ready", "memory_budget_bytes", "memory_used_bytes"]
            let doc = try XCTUnwrap(json(ByteBuffer(string: OpenAPIDocument.json)) as? [String: Any])
            let documented = ((((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])?["Health"] as? [String: Any])?["properties"]
                as? [String: Any]).map { Set($0.keys) } ?? []
            XCTAssertEqual(always.subtracting(h.keys), [], String(buffer: health.body))
            XCTAssertEqual(Set(h.keys).subtracting(documented), [], "undocumented keys")
            XCTAssertTrue(h["memory_budget_bytes"] is NSNull || h["memory_budget_bytes"] is Int, String(buffer: health.body))
            XCTAssertEqual((h["supported_model_types"] as? [String: String])?["bart"], "summarizer", String(buffer: health.body))
            XCTAssertEqual(h["models"] as? [String: String], ["abstractive": h["model"] as? String ?? "?"])
            let ready = try await client.execute(uri: "/ready", method: .get)
            XCTAssertEqual(json(ready.body) as? [String: Bool], ["ready": true], String(buffer: ready.body))
        }
    }

    func testValidationErrorsNameTheField() async throws {
        try await withApp({ $0.maxTexts = 3; $0.maxBatchSize = 8 }) { client, _, _ in
            let cases: [(Any, String)] = [
                ([String: Any](), "texts"),
                (["texts": "one"], "texts"),
                (["texts": []], "texts"),
                (["texts": ["a", 3]], "texts[1]"),
                (["texts": ["a", ""]], "texts[1]"),
                (["texts": ["a", "b", "c", "d"]], "texts"),
                (["texts": ["a"], "max_length": "long"], "max_length"),
                (["texts": ["a"], "max_length": 0], "max_length"),
                (["texts": ["a"], "max_length": 500], "max_length"),
                (["texts": ["a"], "top_p": 1.5], "top_p"),
                (["texts": ["a"], "temperature": 0], "temperature"),
                (["texts": ["a"], "do_sample": "yes"], "do_sample"),
                (["texts": ["a"], "num_beams": 0], "num_beams"),
                (["texts": ["a"], "num_beams": 9], "num_beams"),
                (["texts": ["a"], "early_stopping": "sometimes"], "early_stopping"),
                (["texts": ["a"], "truncation": "shorten"], "truncation"),
                (["texts": ["a"], "seed": -1], "seed"),
                (["inputs": ["a"], "parameters": "x"], "parameters"),
                ([1, 2], "body"),
            ]
            for (req, field) in cases {
                let r = try await self.post(client, req)
                XCTAssertEqual(r.status, .unprocessableContent, "\(req): \(String(buffer: r.body))")
                XCTAssertEqual(errorOf(r)?.field, field, "\(req)")
                XCTAssertEqual(errorOf(r)?.type, "invalid_request")
            }
            // the "error" truncation mode states the token count and the limit
            let long = ServingFixtures.expected.texts[9]
            let r = try await self.post(client, ["texts": [long], "truncation": "error"])
            XCTAssertEqual(r.status, .unprocessableContent)
            XCTAssertEqual(errorOf(r)?.field, "texts[0]")
            XCTAssertTrue(errorOf(r)?.message.contains("limit of 64 tokens") ?? false, errorOf(r)?.message ?? "")
        }
    }

    func testMalformedBodies() async throws {
        try await withApp({ $0.maxBodySize = 2000 }) { client, _, _ in
            let bad = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{\"texts\": [\"a\""))
            XCTAssertEqual(bad.status, .badRequest)
            XCTAssertEqual(errorOf(bad)?.type, "bad_request")
            let utf8 = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                                body: ByteBuffer(bytes: Array("{\"texts\": [\"".utf8) + [0xFF, 0xFE] + Array("\"]}".utf8)))
            XCTAssertEqual(utf8.status, .badRequest)
            XCTAssertTrue(errorOf(utf8)?.message.contains("UTF-8") ?? false)
            let big = try await self.post(client, ["texts": [String(repeating: "word ", count: 420)]])
            XCTAssertEqual(big.status, .contentTooLarge)
            XCTAssertEqual(errorOf(big)?.type, "payload_too_large")
        }
    }

    func testAPIKeysGuardInferenceOnly() async throws {
        try await withApp({ $0.apiKeys = ["s3cret"] }) { client, _, _ in
            let none = try await self.post(client, ["texts": ["Hello world."], "max_length": 5])
            XCTAssertEqual(none.status, .unauthorized)
            XCTAssertEqual(none.headers[.wwwAuthenticate], "Bearer")
            var h = jsonHeaders
            h[.authorization] = "Bearer wrong"
            let _r3 = try await self.post(client, ["texts": ["Hello world."]], headers: h).status
            XCTAssertEqual(_r3, .unauthorized)
            h[.authorization] = "Bearer s3cret"
            let _r4 = try await self.post(client, ["texts": ["Hello world."], "max_length": 5], headers: h).status
            XCTAssertEqual(_r4, .ok)
            let _r5 = try await client.execute(uri: "/health", method: .get).status
            XCTAssertEqual(_r5, .ok)
            let _r6 = try await client.execute(uri: "/metrics", method: .get).status
            XCTAssertEqual(_r6, .ok)
            let _r7 = try await client.execute(uri: "/ready", method: .get).status
            XCTAssertEqual(_r7, .ok)
        }
    }

    func testRateLimit() async throws {
        try await withApp({ $0.ratePerSec = 0.5; $0.rateBurst = 2 }) { client, _, _ in
            let req: [String: Any] = ["texts": ["Hello world."], "max_length": 4]
            let a = try await self.post(client, req)
            XCTAssertEqual(a.status, .ok)
            XCTAssertEqual(a.headers[.rateLimitLimit], "2")
            XCTAssertEqual(a.headers[.rateLimitRemaining], "1")
            let _r8 = try await self.post(client, req).status
            XCTAssertEqual(_r8, .ok)
            let c = try await self.post(client, req)
            XCTAssertEqual(c.status, .tooManyRequests)
            XCTAssertEqual(errorOf(c)?.type, "rate_limited")
            XCTAssertNotNil(c.headers[.retryAfter].flatMap(Int.init))
            XCTAssertEqual(c.headers[.rateLimitRemaining], "0")
            let _r9 = try await client.execute(uri: "/health", method: .get).status
            XCTAssertEqual(_r9, .ok, "health is not rate limited")
            let m = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            XCTAssertEqual(counter(m, "brevity_rate_limited_total"), 1)
        }
    }

    func testRequestIdsAndCORS() async throws {
        try await withApp({ $0.corsOrigins = ["https://app.example"] }) { client, _, _ in
            let given = try await client.execute(uri: "/health", method: .get, headers: [.xRequestId: "abc-123"])
            XCTAssertEqual(given.headers[.xRequestId], "abc-123")
            let generated = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(generated.headers[.xRequestId]?.count, 36)
            let pre = try await client.execute(uri: "/summarize", method: .options,
                                               headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"])
            XCTAssertEqual(pre.status, .noContent)
            XCTAssertEqual(pre.headers[.accessControlAllowOrigin], "https://app.example")
            let other = try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example"])
            XCTAssertNil(other.headers[.accessControlAllowOrigin])
        }
    }

    /// Why the service keeps its own CORS middleware rather than Hummingbird's `CORSMiddleware`: the allowed
    /// origins are a list read at start-up (--cors-origin, BREVITY_CORS_ORIGINS), which Hummingbird's
    /// `.oneOf(_:)` takes only as variadic literals; and a preflight from an origin not on the list is
    /// refused with 403 here, where Hummingbird's answers 204. Each listed origin gets itself back, with
    /// `Vary: Origin`, on preflights and on responses, error responses included.
    func testCORSWithSeveralOriginsFromTheConfiguration() async throws {
        let origins = "https://a.example, https://b.example".split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        try await withApp({ $0.corsOrigins = origins }) { client, _, _ in
            for origin in origins {
                let pre = try await client.execute(uri: "/summarize", method: .options,
                                                   headers: [.origin: origin, .accessControlRequestMethod: "POST"])
                XCTAssertEqual(pre.status, .noContent)
                XCTAssertEqual(pre.headers[.accessControlAllowOrigin], origin)
                XCTAssertEqual(pre.headers[.vary], "Origin")
                XCTAssertTrue(pre.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
                let bad = try await client.execute(uri: "/summarize", method: .post, headers: [.origin: origin, .contentType: "application/json"],
                                                   body: ByteBuffer(string: "{}"))
                XCTAssertEqual(bad.status, .unprocessableContent)
                XCTAssertEqual(bad.headers[.accessControlAllowOrigin], origin, "an error is readable by the page that caused it")
                XCTAssertTrue(bad.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
            }
            let other = try await client.execute(uri: "/summarize", method: .options,
                                                 headers: [.origin: "https://c.example", .accessControlRequestMethod: "POST"])
            XCTAssertEqual(other.status, .forbidden)
            XCTAssertNil(other.headers[.accessControlAllowOrigin])
        }
    }

    func testMetricsExposition() async throws {
        try await withApp { client, _, _ in
            _ = try await self.post(client, ["texts": ["Hello world.", "Another text here."], "max_length": 6])
            let m = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            for name in ["brevity_requests_total", "brevity_queue_size", "brevity_batch_size_bucket", "brevity_request_duration_seconds_bucket",
                         "brevity_queue_duration_seconds_bucket", "brevity_inference_duration_seconds_bucket", "brevity_input_tokens_total",
                         "brevity_generated_tokens_total", "brevity_client_disconnects_total", "brevity_rate_limited_total"] {
                XCTAssertTrue(m.contains(name), "missing \(name)")
            }
            XCTAssertTrue(m.contains("brevity_requests_total{route=\"/summarize\",status=\"200\"} 1"), m)
            XCTAssertTrue(m.contains("le=\"120.0\""), "duration buckets reach 120 s")
            XCTAssertEqual(counter(m, "brevity_generated_tokens_total"), 10)
        }
    }

    /// A request's `draft_tokens` (and the server's default, 6 for greedy texts) never changes a summary;
    /// /metrics counts the passes, steps and drafted tokens; values out of range are 422 naming the field.
    func testDraftTokensLeaveSummariesAsTheyAreAndAreCounted() async throws {
        try await withApp { client, _, _ in
            let texts = ["The cat sat on the mat. The cat sat on the mat again.", "Another text here, and another text here."]
            for beams in [1, 3] {
                var answers: [[String]] = []
                for draft: Int? in [0, nil, 5, 32] {
                    var body: [String: Any] = ["texts": texts, "max_length": 14, "num_beams": beams]
                    if let draft { body["draft_tokens"] = draft }
                    let r = try await self.post(client, body)
                    XCTAssertEqual(r.status, .ok)
                    let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
                    answers.append((o["summaries"] as! [[String: Any]]).map { $0["text"] as! String })
                }
                XCTAssertEqual(Set(answers.map { $0.joined(separator: "|") }).count, 1, "beams \(beams): \(answers)")
            }
            let m = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let passes = counter(m, "brevity_decoder_passes_total"), steps = counter(m, "brevity_decode_steps_total")
            XCTAssertGreaterThan(passes, 0)
            XCTAssertGreaterThanOrEqual(steps, counter(m, "brevity_decoder_text_passes_total"), "a text pass decides a step at least")
            XCTAssertGreaterThan(counter(m, "brevity_draft_tokens_proposed_total"), 0, m)
            XCTAssertLessThanOrEqual(counter(m, "brevity_draft_tokens_accepted_total"), counter(m, "brevity_draft_tokens_proposed_total"))
            for bad: Any in [33, -1, "4", 2.5] {
                let r = try await self.post(client, ["texts": ["Hello world."], "draft_tokens": bad])
                XCTAssertEqual(r.status, .unprocessableContent, "\(bad)")
                XCTAssertEqual(errorOf(r)?.field, "draft_tokens")
            }
        }
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["BREVITY_DRAFT_TOKENS": "33"])) {
            XCTAssertTrue("\($0)".contains("BREVITY_DRAFT_TOKENS / --draft-tokens"), "\($0)")
        }
        XCTAssertEqual(try ServerConfig.fromEnvironment(["BREVITY_DRAFT_TOKENS": "0"]).draftTokens, 0)
    }

    func testFullQueueIs503WithRetryAfter() async throws {
        try await withApp({ $0.maxQueue = 2 }) { client, _, _ in
            let r = try await self.post(client, ["texts": ["a b", "c d", "e f"]])
            XCTAssertEqual(r.status, .serviceUnavailable)
            XCTAssertEqual(errorOf(r)?.type, "overloaded")
            XCTAssertEqual(r.headers[.retryAfter], "2")
        }
    }

    func testRequestTimeoutIs504() async throws {
        try await withApp({ $0.requestTimeout = 0.000001 }) { client, _, _ in
            let r = try await self.post(client, ["texts": ["Hello world."]])
            XCTAssertEqual(r.status, .gatewayTimeout)
            XCTAssertEqual(errorOf(r)?.type, "timeout")
        }
    }

    func testChunkedLongDocument() async throws {
        try await withApp { client, _, _ in
            let long = (0..<12).map { "Sentence number \($0) tells the council about the budget for schools and roads." }.joined(separator: " ")
            let r = try await self.post(client, ["texts": [long, "Hello world."], "truncation": "chunk", "num_beams": 1, "max_length": 10])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let s = (json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]]
            XCTAssertEqual(s?.count, 2)
            XCTAssertGreaterThan(s?[0]["input_tokens"] as? Int ?? 0, 64)
            XCTAssertEqual(s?[0]["truncated"] as? Bool, false)
            XCTAssertFalse((s?[0]["text"] as? String ?? "").isEmpty)
            // a text that fits is summarized as it is
            let plain = try await self.post(client, ["texts": ["Hello world."], "num_beams": 1, "max_length": 10])
            XCTAssertEqual(((json(plain.body) as? [String: Any])?["summaries"] as? [[String: Any]])?[0]["text"] as? String,
                           s?[1]["text"] as? String)
        }
    }

    func testChunkerSentencesAndFit() throws {
        XCTAssertEqual(Chunker.sentences("Mr. J. Smith came. He said \"hi.\" Then left!\n\nNew para 3.5 here"),
                       ["Mr. J. Smith came.", "He said \"hi.\"", "Then left!", "New para 3.5 here"])
        XCTAssertEqual(Chunker.sentences("第一句。第二句！"), ["第一句。", "第二句！"])
        let long = (0..<20).map { "Sentence \($0) is about the storm and the coast." }.joined(separator: " ")
        let chunks = try Chunker(engine: ServingFixtures.engine).chunks(long)
        XCTAssertGreaterThan(chunks.count, 1)
        for c in chunks { XCTAssertLessThanOrEqual(try ServingFixtures.engine.inputIds(c, truncate: false).tokens, 64) }
        XCTAssertEqual(chunks.joined(separator: " "), long)
    }

    func testDrainingRefusesWorkAndReadyTurns503() async throws {
        try await withApp { client, scheduler, _ in
            scheduler.setDraining()
            let ready = try await client.execute(uri: "/ready", method: .get)
            XCTAssertEqual(ready.status, .serviceUnavailable)
            XCTAssertEqual((json(ready.body) as? [String: Any])?["reason"] as? String, "draining")
            let r = try await self.post(client, ["texts": ["Hello world."]])
            XCTAssertEqual(r.status, .serviceUnavailable)
            let _r10 = try await client.execute(uri: "/health", method: .get).status
            XCTAssertEqual(_r10, .ok)
        }
    }

    func testConfigFromEnvironment() throws {
        let c = try ServerConfig.fromEnvironment(["MODEL_NAME": "m", "NUM_BEAMS": "2", "DTYPE": "bf16", "MAX_CONCURRENT_BATCH": "3",
                                                  "RATE_PER_SEC": "1.5", "PORT": "9000", "LOG_LEVEL": "debug"])
        XCTAssertEqual(c.model, "m")
        XCTAssertEqual(c.numBeams, 2)
        XCTAssertEqual(c.dtype, .bf16)
        XCTAssertEqual(c.maxConcurrentBatch, 3)
        XCTAssertEqual(c.ratePerSec, 1.5)
        XCTAssertEqual(c.burst, 3)
        XCTAssertEqual(c.port, 9000)
        XCTAssertEqual(c.logLevel, .debug)
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["PORT": "eighty"])) { XCTAssertTrue("\($0)".contains("PORT")) }
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["DTYPE": "int3"])) { XCTAssertTrue("\($0)".contains("DTYPE")) }
    }

    /// Every bound of a setting is checked in one place (`ServerConfig.validate`), for the environment and
    /// the flags alike, and the error names both spellings.
    func testSettingsAreCheckedInOnePlaceWhereverTheyCameFrom() throws {
        for (variable, value, flag) in [("NUM_BEAMS", "0", "--num-beams"), ("PORT", "70000", "--port"), ("BREVITY_MAX_QUEUE", "0", "--max-queue"),
                                        ("BREVITY_SHED_DELAY", "-1", "--shed-delay"), ("BREVITY_REQUEST_TIMEOUT", "0", "--request-timeout"),
                                        ("RATE_PER_SEC", "-2", "--rate-per-sec"), ("BREVITY_MAX_BATCH_TOKENS", "0", "--max-batch-tokens")] {
            XCTAssertThrowsError(try ServerConfig.fromEnvironment([variable: value]), variable) {
                XCTAssertTrue("\($0)".contains("\(variable) / \(flag)"), "\($0)")
            }
        }
        var c = ServerConfig()
        c.shedDelay = .infinity   // as a flag would set it
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--shed-delay"), "\($0)") }
        c.shedDelay = 0
        XCTAssertNoThrow(try c.validate())
        XCTAssertNoThrow(try ServerConfig().validate(), "the defaults are valid")
    }
}
