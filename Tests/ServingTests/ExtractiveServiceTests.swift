import BrevityKit
import Extractive
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Tensor
import XCTest
@testable import Serving

/// `"mode": "extractive"` over HTTP with the real all-MiniLM-L6-v2 weights (`make models`), on
/// the news-style articles of Tests/Fixtures/extractive.
final class ExtractiveServiceTests: XCTestCase {
    nonisolated(unsafe) static var cached: ExtractiveModel?
    static let lock = NSLock()
    static func model() throws -> ExtractiveModel {
        lock.lock()
        defer { lock.unlock() }
        if let m = cached { return m }
        let m = ExtractiveModel(summarizer: ExtractiveSummarizer(embedder: try SentenceTransformerEmbedder(folder: try TestPaths.miniLMFolder(), backend: CPUBackend.shared)),
                                name: "all-MiniLM-L6-v2")
        cached = m
        return m
    }

    static let articles: [String] = {
        let dir = TestPaths.fixtures.appendingPathComponent("extractive")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.filter { $0.hasSuffix(".txt") }.sorted() ?? []
        return names.map { try! String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }
    }()

    /// Sentences joined as summaries join them: a space between, none after a CJK full stop.
    static func join(_ sentences: [String]) -> String {
        var out = ""
        for s in sentences {
            if let last = out.unicodeScalars.last, !"。！？".unicodeScalars.contains(last) { out += " " }
            out += s
        }
        return out
    }

    /// An app serving MiniLM alone (`withAbstractive`: beside the tiny BART, which stays the default).
    func withApp(withAbstractive: Bool = false, _ mutate: (inout ServerConfig) -> Void = { _ in },
                 _ test: @escaping @Sendable (any TestClientProtocol, ExtractiveWorker) async throws -> Void) async throws {
        let models = ServingModels(abstractive: withAbstractive ? ServingFixtures.engine : nil, extractive: try Self.model(),
                                   reason: "test")
        let built = buildApplication(config: testConfig(mutate), models: models)
        for _ in 0..<6000 where !(built.worker!.isReady && (built.scheduler?.isReady ?? true)) {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertTrue(built.worker!.isReady)
        try await built.app.test(.ahc(.http)) { client in try await test(client, built.worker!) }
    }

    func post(_ client: any TestClientProtocol, _ object: Any, uri: String = "/summarize") async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: body(object))
    }

    /// The summaries of an originals'-shape response.
    func summaries(_ r: TestResponse) -> [[String: Any]] {
        ((json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]]) ?? []
    }

    func testExtractiveByDefaultWithASentenceEmbeddingModel() async throws {
        let article = Self.articles[0]
        let direct = try Self.model().summarizer.summarize(article, length: .sentences(3))
        try await withApp { client, _ in
            let h = json(try await client.execute(uri: "/health", method: .get).body) as? [String: Any]
            XCTAssertEqual(h?["mode"] as? String, "extractive")
            XCTAssertEqual(h?["modes"] as? [String], ["extractive"])
            XCTAssertEqual(h?["model"] as? String, "all-MiniLM-L6-v2")
            XCTAssertEqual(h?["reason"] as? String, "test")
            // the originals' request, no length given: 3 sentences, exactly what the summarizer picks
            let r = try await self.post(client, ["texts": [article]])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let o = json(r.body) as? [String: Any]
            XCTAssertEqual(o?["mode"] as? String, "extractive")
            XCTAssertEqual(o?["model"] as? String, "all-MiniLM-L6-v2")
            XCTAssertNotNil(o?["latency_ms"] as? Double)
            let s = self.summaries(r)
            XCTAssertEqual(s.count, 1)
            XCTAssertEqual(s[0]["text"] as? String, direct.text)
            XCTAssertEqual((s[0]["sentences"] as? [[String: Any]])?.map { $0["index"] as! Int }, direct.sentences.map(\.index))
            XCTAssertEqual(s[0]["input_tokens"] as? Int, direct.inputTokens)
            XCTAssertEqual(s[0]["input_sentences"] as? Int, direct.inputSentences)
            // abstractive is not available here: the error names the field
            let bad = try await self.post(client, ["texts": [article], "mode": "abstractive"])
            XCTAssertEqual(bad.status, .unprocessableContent)
            XCTAssertEqual(errorOf(bad)?.field, "mode")
        }
    }

    func testLengthsWholeSentencesOrderAndDeterminism() async throws {
        let segmenter = SentenceSegmenter()
        try await withApp { client, _ in
            for (k, article) in Self.articles.enumerated() {
                let sentences = segmenter.split(article)
                for length in [["num_sentences": 2], ["ratio": 0.25], ["max_length": 60], ["num_sentences": 1000],
                               ["max_length": 130, "min_length": 30], ["num_sentences": 2, "strategy": "pacsum"],
                               ["num_sentences": 2, "strategy": "centrality"], ["max_length": 60, "strategy": "lead"]] as [[String: Any]] {
                    var req: [String: Any] = ["texts": [article], "mode": "extractive"]
                    req.merge(length) { $1 }
                    let r = try await self.post(client, req)
                    XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                    let s = self.summaries(r)[0]
                    let chosen = (s["sentences"] as? [[String: Any]]) ?? []
                    let idx = chosen.map { $0["index"] as! Int }
                    // whole sentences of the input, in document order, joined into the text
                    XCTAssertEqual(idx, idx.sorted(), "article \(k) \(length)")
                    for c in chosen { XCTAssertEqual(c["text"] as? String, sentences[c["index"] as! Int], "article \(k)") }
                    XCTAssertEqual(s["text"] as? String, Self.join(chosen.map { $0["text"] as! String }))
                    XCTAssertEqual(s["input_sentences"] as? Int, sentences.count)
                    if let n = length["num_sentences"] as? Int { XCTAssertEqual(chosen.count, min(n, sentences.count), "article \(k)") }
                    if let r = length["ratio"] as? Double {
                        XCTAssertLessThanOrEqual(chosen.count, max(1, Int((r * Double(sentences.count)).rounded())))
                        XCTAssertGreaterThanOrEqual(chosen.count, 1)
                    }
                    if let t = length["max_length"] as? Int {
                        XCTAssertLessThanOrEqual(chosen.reduce(0) { $0 + ($1["tokens"] as! Int) }, t, "article \(k)")
                    }
                    // the same request gives the same summary
                    let again = try await self.post(client, req)
                    XCTAssertEqual(self.summaries(again)[0]["text"] as? String, s["text"] as? String)
                }
            }
        }
    }

    func testNoLengthIsRefusedAndTextsKeepTheirOrder() async throws {
        // every article joined: thousands of tokens, far past the encoder's 256-token window
        let long = Self.articles.joined(separator: "\n\n")
        try await withApp { client, _ in
            let r = try await self.post(client, ["texts": [long, Self.articles[1], Self.articles[2]], "mode": "extractive", "num_sentences": 4])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let s = self.summaries(r)
            XCTAssertEqual(s.count, 3)
            XCTAssertGreaterThan(s[0]["input_tokens"] as! Int, 3000)
            XCTAssertEqual(s[0]["truncated"] as? Bool, false)
            XCTAssertEqual((s[0]["sentences"] as? [Any])?.count, 4)
            for i in 1...2 {
                let alone = try await self.post(client, ["texts": [Self.articles[i]], "num_sentences": 4])
                XCTAssertEqual(self.summaries(alone)[0]["text"] as? String, s[i]["text"] as? String)
            }
            // the Hugging Face shape, parameters included
            let hf = try await self.post(client, ["inputs": Self.articles[1], "parameters": ["num_sentences": 4]])
            XCTAssertEqual(hf.status, .ok)
            XCTAssertEqual((json(hf.body) as? [[String: Any]])?.first?["summary_text"] as? String, s[1]["text"] as? String)
        }
    }

    func testInvalidExtractiveFieldsAreNamed() async throws {
        try await withApp { client, _ in
            let cases: [([String: Any], String)] = [
                (["num_sentences": 0], "num_sentences"), (["num_sentences": 1.5], "num_sentences"), (["num_sentences": true], "num_sentences"),
                (["num_sentences": "3"], "num_sentences"), (["ratio": 0], "ratio"), (["ratio": 1.5], "ratio"), (["ratio": "half"], "ratio"),
                (["num_sentences": 2, "ratio": 0.5], "ratio"), (["mode": "abstract"], "mode"), (["mode": 1], "mode"),
                (["max_length": 0], "max_length"), (["strategy": "textrank"], "strategy"), (["strategy": 3], "strategy"),
            ]
            for (extra, field) in cases {
                var req: [String: Any] = ["texts": [Self.articles[3]]]
                req.merge(extra) { $1 }
                let r = try await self.post(client, req)
                XCTAssertEqual(r.status, .unprocessableContent, "\(extra)")
                XCTAssertEqual(errorOf(r)?.field, field, "\(extra): \(String(buffer: r.body))")
            }
            let empty = try await self.post(client, ["texts": [""], "mode": "extractive"])
            XCTAssertEqual(errorOf(empty)?.field, "texts[0]")
            // whitespace is text: no sentences, an empty summary (as transformers would summarize it)
            let blank = try await self.post(client, ["texts": ["  \n "], "mode": "extractive"])
            XCTAssertEqual(blank.status, .ok)
            let s = ((json(blank.body) as? [String: Any])?["summaries"] as? [[String: Any]])?.first
            XCTAssertEqual(s?["text"] as? String, "")
            XCTAssertEqual(s?["input_sentences"] as? Int, 0)
        }
    }

    /// The strategy changes which sentences are taken: position (the default) leads with the opening
    /// sentences; the originals' request fills its token budget to the middle of [min_length, max_length].
    func testStrategiesAndTheOriginalsRequest() async throws {
        try await withApp { client, _ in
            let article = Self.articles[0]
            var chosen: [String: [Int]] = [:]
            for strategy in ["position", "lead", "pacsum", "centrality"] {
                let r = try await self.post(client, ["texts": [article], "mode": "extractive", "num_sentences": 3, "strategy": strategy])
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                chosen[strategy] = ((self.summaries(r)[0]["sentences"] as? [[String: Any]]) ?? []).map { $0["index"] as! Int }
            }
            let byDefault = try await self.post(client, ["texts": [article], "mode": "extractive", "num_sentences": 3])
            XCTAssertEqual(((self.summaries(byDefault)[0]["sentences"] as? [[String: Any]]) ?? []).map { $0["index"] as! Int }, chosen["position"])
            XCTAssertEqual(chosen["lead"], [0, 1, 2])
            XCTAssertNotEqual(chosen["centrality"], chosen["lead"], "\(chosen)")
            let originals = try await self.post(client, ["texts": [article], "max_length": 130, "min_length": 30, "do_sample": false,
                                                         "temperature": 1.0, "top_p": 1.0, "mode": "extractive"])
            let tokens = ((self.summaries(originals)[0]["sentences"] as? [[String: Any]]) ?? []).reduce(0) { $0 + ($1["tokens"] as! Int) }
            XCTAssertLessThanOrEqual(tokens, 130)
            XCTAssertGreaterThanOrEqual(tokens, 30)
        }
    }

    func testBothModesBesideASeq2SeqModel() async throws {
        let text = ServingFixtures.expected.texts[0]
        try await withApp(withAbstractive: true) { client, _ in
            let h = json(try await client.execute(uri: "/health", method: .get).body) as? [String: Any]
            XCTAssertEqual(h?["mode"] as? String, "abstractive")
            XCTAssertEqual(h?["modes"] as? [String], ["abstractive", "extractive"])
            XCTAssertEqual(h?["models"] as? [String: String], ["abstractive": "summarizer-tiny", "extractive": "all-MiniLM-L6-v2"])
            // no mode: the seq2seq model, as transformers' generate
            let greedy = ServingFixtures.expected.settings["greedy"]!
            var req = greedy.params
            req["texts"] = [ServingFixtures.expected.texts[0]]
            let a = try await self.post(client, req)
            XCTAssertEqual(a.status, .ok, String(buffer: a.body))
            XCTAssertEqual((json(a.body) as? [String: Any])?["mode"] as? String, "abstractive")
            XCTAssertEqual(self.summaries(a)[0]["text"] as? String, greedy.outputs[0].text)
            // "mode": "extractive": whole sentences from MiniLM
            let e = try await self.post(client, ["texts": [text], "mode": "extractive", "num_sentences": 1])
            XCTAssertEqual(e.status, .ok, String(buffer: e.body))
            XCTAssertEqual((json(e.body) as? [String: Any])?["model"] as? String, "all-MiniLM-L6-v2")
            let sentence = self.summaries(e)[0]["text"] as! String
            XCTAssertTrue(SentenceSegmenter().split(text).contains(sentence), sentence)
        }
    }

    func testStreamingConcurrencyAndDraining() async throws {
        try await withApp({ $0.maxQueue = 64 }) { client, worker in
            // SSE: one token event per text with its summary, then the result
            let r = try await self.post(client, ["texts": [Self.articles[4], Self.articles[5]], "mode": "extractive"], uri: "/summarize/stream")
            XCTAssertEqual(r.status, .ok)
            let text = String(buffer: r.body)
            XCTAssertEqual(text.components(separatedBy: "event: token\n").count - 1, 2, text)
            XCTAssertTrue(text.contains("event: result\n"), text)
            // 8 clients at once get what each gets alone
            let expected = try (0..<8).map { try Self.model().summarizer.summarize(Self.articles[$0], length: .sentences(3)).text }
            try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let r = try await self.post(client, ["texts": [Self.articles[i]], "mode": "extractive"])
                        return (i, self.summaries(r).first?["text"] as? String)
                    }
                }
                for try await (i, got) in group { XCTAssertEqual(got, expected[i], "client \(i)") }
            }
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            XCTAssertGreaterThanOrEqual(histogram(metrics, "brevity_inference_duration_seconds").count, 10)
            XCTAssertGreaterThan(counter(metrics, "brevity_input_tokens_total"), 1000)
            // draining: new work is refused and /ready says so
            worker.setDraining()
            let ready = try await client.execute(uri: "/ready", method: .get)
            XCTAssertEqual(ready.status, .serviceUnavailable)
            let refused = try await self.post(client, ["texts": [Self.articles[0]]])
            XCTAssertEqual(refused.status, .serviceUnavailable)
        }
    }
}
