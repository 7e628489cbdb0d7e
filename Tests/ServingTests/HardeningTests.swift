// A warm-up that fails leaves the service unready and says why; an early 413 reaches a client
// that writes its whole body before reading; methods a path does not take are 405; a stream's client
// that hangs up stops its beam search within a step; the chunker keeps every word of the input.

import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Tensor
import XCTest
@testable import Serving
#if canImport(Glibc)
import Glibc
#endif

final class HardeningTests: XCTestCase {
    // MARK: Readiness

    func testFailedWarmUpLeavesTheServiceUnreadyWithTheReason() async throws {
        // 5 embeddings: "Brevity warms up." has tokens past the table, so the warm-up throws
        let engine = try SummarizationEngine.load(folder: summarizerFolder(vocabulary: 5), name: "summarizer-tiny-5", weightType: .f32, backend: CPUBackend.shared)
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: engine)
        scheduler.start()
        for _ in 0..<3000 where scheduler.warmUpError == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        let why = try XCTUnwrap(scheduler.warmUpError, "the warm-up must fail")
        XCTAssertTrue(why.contains("warm-up"), why)
        XCTAssertFalse(scheduler.isReady)
        try await app.test(.router) { client in
            let ready = try await client.execute(uri: "/ready", method: .get)
            XCTAssertEqual(ready.status, .serviceUnavailable)
            XCTAssertEqual((json(ready.body) as? [String: Any])?["reason"] as? String, why)
            let health = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(health.status, .ok, "liveness stays up")
            let h = json(health.body) as? [String: Any]
            XCTAssertEqual(h?["status"] as? String, "degraded")
            XCTAssertEqual(h?["ready"] as? Bool, false)
            XCTAssertEqual(h?["warmup_error"] as? String, why)
            let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(["texts": ["Hi."]]))
            XCTAssertEqual(r.status, .serviceUnavailable)
            XCTAssertTrue(errorOf(r)?.message.contains("warm-up") ?? false, String(buffer: r.body))
        }
    }

    func testSuccessfulWarmUpReportsReady() async throws {
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        XCTAssertNil(scheduler.warmUpError)
        try await app.test(.router) { client in
            let h = json(try await client.execute(uri: "/health", method: .get).body) as? [String: Any]
            XCTAssertEqual(h?["status"] as? String, "ok")
            XCTAssertEqual(h?["ready"] as? Bool, true)
            XCTAssertNil(h?["warmup_error"])
        }
    }

    // MARK: Early responses

    /// Python's urllib writes the whole body before it reads: the 413 must reach it (not a reset, not a
    /// stall until its timeout), on both routes, and the service keeps serving.
    func testEarly413ReachesAClientThatSendsTheWholeBodyFirst() async throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            try prerequisiteMissing("python3 is needed for the urllib client")
        }
        let (app, scheduler, _) = buildApplication(config: testConfig { $0.maxBodySize = 64 << 10 }, engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            for path in ["/summarize", "/summarize/stream"] {
                let script = """
                import json, sys, time, urllib.request, urllib.error
                body = json.dumps({"texts": ["x" * (8 << 20)]}).encode()
                req = urllib.request.Request("http://127.0.0.1:\(port)\(path)", data=body, headers={"Content-Type": "application/json"})
                try:
                    urllib.request.urlopen(req, timeout=60)
                    print("200")
                except urllib.error.HTTPError as e:
                    print(e.code, json.loads(e.read())["error"]["type"])
                """
                let (status, output) = try await runTool(python, ["-c", script])
                XCTAssertEqual(status, 0, output)
                XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "413 payload_too_large", path)
            }
            let ok = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(["texts": ["Hello world."]]))
            XCTAssertEqual(ok.status, .ok)
        }
    }

    // MARK: Methods

    func testMethodsAPathDoesNotTakeAre405WithAllow() async throws {
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            for (method, uri, allow) in [(HTTPRequest.Method.get, "/summarize", "POST"), (.put, "/summarize/stream", "POST"),
                                         (.delete, "/health", "GET"), (.post, "/ready", "GET"), (.patch, "/metrics", "GET"),
                                         (.post, "/openapi.json", "GET"), (.post, "/docs", "GET"),
                                         (.put, "/", "GET, POST")] {
                let r = try await client.execute(uri: uri, method: method)
                XCTAssertEqual(r.status, .methodNotAllowed, "\(method) \(uri)")
                XCTAssertEqual(r.headers[.allow], allow, "\(method) \(uri)")
                XCTAssertEqual(errorOf(r)?.type, "method_not_allowed")
            }
            let missing = try await client.execute(uri: "/nowhere", method: .get)
            XCTAssertEqual(missing.status, .notFound)
        }
    }

    // MARK: Stream disconnects

    /// A beam search may send nothing for many steps (while its beams disagree); a client that hangs up
    /// must still stop it within a few steps (the 50 ms heartbeat finds the closed connection: 20 ms steps
    /// here), not after its remaining ~55 steps.
    func testStreamClientThatHangsUpStopsItsBeamSearchWithinAStep() async throws {
        let engine = SlowModel.engine(baseMs: 20, perRowMs: 0)
        let (app, scheduler, metrics) = buildApplication(config: testConfig { $0.latencyTarget = .unbounded }, engine: engine)
        try await waitReady(scheduler)
        try await app.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let payload = try JSONSerialization.data(withJSONObject: [
                "texts": [ServingFixtures.expected.texts[0]], "num_beams": 4, "min_length": 60, "max_length": 60, "no_repeat_ngram_size": 0,
            ] as [String: Any])
            let head = "POST /summarize/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
            let fd = try rawConnect(port: port)
            _ = (Array(head.utf8) + [UInt8](payload)).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            func steps() -> Double { histogram(String(decoding: metrics.exposition(), as: UTF8.self), "brevity_batch_size").count }
            let before = steps()
            for _ in 0..<500 where steps() < before + 3 { try await Task.sleep(nanoseconds: 5_000_000) }
            XCTAssertEqual(scheduler.load.active, 1, "the beam search is decoding")
            close(fd)
            let atClose = steps()
            for _ in 0..<600 where scheduler.load.active > 0 { try await Task.sleep(nanoseconds: 5_000_000) }
            XCTAssertEqual(scheduler.load.active, 0, "the text left the batch")
            XCTAssertLessThanOrEqual(steps() - atClose, 8, "steps run after the hang-up")
            XCTAssertGreaterThanOrEqual(counter(String(decoding: metrics.exposition(), as: UTF8.self), "brevity_client_disconnects_total"), 1)
        }
    }

    // MARK: Chunking

    /// A sentence longer than the window is cut between words of the input: the pieces, joined, are the
    /// input's words, none lost or repeated, and each fits; a word longer than the window is cut inside.
    func testChunkerCutsLongSentencesIntoSpansOfTheInput() throws {
        let engine = ServingFixtures.engine
        let chunker = Chunker(engine: engine)
        let words = (0..<150).map { ["budget", "council", "schools", "roads", "Zürich", "naïve", "co-operate", "3.14", "don't"][$0 % 9] + "\($0)" }
        let runOn = words.joined(separator: "  ")   // one sentence, no stop, double spaces
        let chunks = try chunker.chunks(runOn + ". Short one.")
        XCTAssertGreaterThan(chunks.count, 2)
        for c in chunks { XCTAssertLessThanOrEqual(try engine.inputIds(c, truncate: false).tokens, engine.maxInputTokens, c) }
        var expected = words
        expected[expected.count - 1] += "."
        XCTAssertEqual(chunks.joined(separator: " ").split(whereSeparator: \.isWhitespace).map(String.init), expected + ["Short", "one."])
        // one word past the window: cut inside it, every character kept once
        let word = String(repeating: "abcdefghij", count: 300)
        let pieces = try chunker.chunks("Before. " + word + " after.")
        for c in pieces { XCTAssertLessThanOrEqual(try engine.inputIds(c, truncate: false).tokens, engine.maxInputTokens) }
        XCTAssertEqual(pieces.joined(separator: " ").split(whereSeparator: \.isWhitespace).joined(), "Before." + word + "after.")
    }
}

/// Runs `tool` with `arguments` off the cooperative pool; its exit status and standard output.
func runTool(_ tool: String, _ arguments: [String]) async throws -> (Int32, String) {
    try await withCheckedThrowingContinuation { cont in
        Thread.detachNewThread {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = arguments
            let out = Pipe()
            p.standardOutput = out
            do {
                try p.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                cont.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
            } catch { cont.resume(throwing: error) }
        }
    }
}
