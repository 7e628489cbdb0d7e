import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import XCTest
@testable import Serving
#if canImport(Glibc)
import Glibc
#endif

/// Real sockets: concurrency and continuous batching, Server-Sent Events, client disconnects.
final class LiveTests: XCTestCase {
    func withLiveApp(_ mutate: (inout ServerConfig) -> Void = { _ in },
                     _ test: @escaping @Sendable (any TestClientProtocol, BatchScheduler) async throws -> Void) async throws {
        let (app, scheduler, _) = buildApplication(config: testConfig(mutate), engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.ahc(.http)) { client in try await test(client, scheduler) }
    }

    /// 32 concurrent clients all get the results of sequential runs, and decoder steps were shared.
    func testConcurrentClientsMatchSequentialAndShareSteps() async throws {
        try await withLiveApp({ $0.maxConcurrentBatch = 32 }) { client, _ in
            let exp = ServingFixtures.expected
            let settings = ["greedy", "beams3", "defaults", "originals"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for k in 0..<32 {
                    group.addTask {
                        let name = settings[k % settings.count]
                        let i = k % exp.texts.count
                        var req = exp.settings[name]!.params
                        req["texts"] = [exp.texts[i]]
                        let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(req))
                        XCTAssertEqual(r.status, .ok)
                        let s = (json(r.body) as? [String: Any])?["summaries"] as? [[String: Any]]
                        XCTAssertEqual(s?.first?["text"] as? String, exp.settings[name]!.outputs[i].text, "client \(k)")
                    }
                }
                try await group.waitForAll()
            }
            let m = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let h = histogram(m, "brevity_batch_size")
            XCTAssertGreaterThan(h.count, 0)
            XCTAssertGreaterThan(h.sum / h.count, 1, "mean decoder rows per step: \(h.sum / h.count)")
            XCTAssertTrue(m.contains("brevity_requests_total{route=\"/summarize\",status=\"200\"} 32"))
        }
    }

    func testServerSentEvents() async throws {
        try await withLiveApp { client, _ in
            let exp = ServingFixtures.expected
            var req = exp.settings["greedy"]!.params
            req["texts"] = [exp.texts[0], exp.texts[3]]
            let r = try await client.execute(uri: "/summarize/stream", method: .post, headers: jsonHeaders, body: body(req))
            XCTAssertEqual(r.status, .ok)
            XCTAssertEqual(r.headers[.contentType], "text/event-stream")
            let events = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block -> (String, Any?) in
                let lines = block.split(separator: "\n")
                let name = lines.first { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } ?? ""
                let data = lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
                return (name, try? JSONSerialization.jsonObject(with: Data(data.utf8)))
            }
            XCTAssertEqual(events.last?.0, "result")
            var texts = ["", ""], ids: [[Int]] = [[], []]
            var tokenEvents = 0
            for (name, data) in events where name == "token" {
                let d = data as! [String: Any]
                let i = d["index"] as! Int
                texts[i] += d["text"] as! String
                ids[i] += d["token_ids"] as! [Int]
                tokenEvents += 1
            }
            XCTAssertGreaterThan(tokenEvents, 4, "tokens arrive step by step")
            for (k, i) in [0, 3].enumerated() {
                XCTAssertEqual(texts[k], exp.settings["greedy"]!.outputs[i].text)
                XCTAssertEqual([2] + ids[k], exp.settings["greedy"]!.outputs[i].ids)
            }
            let result = events.last!.1 as? [String: Any]
            XCTAssertEqual((result?["summaries"] as? [[String: Any]])?.map { $0["text"] as? String ?? "" }, texts)
        }
    }

    /// A client that goes away: its texts leave the batch (or the queue) and the counter rises; the
    /// service keeps answering.
    func testDisconnectCancelsWork() async throws {
        // 400 texts one at a time: in a release build the tiny model decodes 24 of them in ~40 ms, which
        // let the request finish before the hang-up; the queue must still hold texts when the client leaves
        try await withLiveApp({ $0.maxConcurrentBatch = 1; $0.maxTexts = 400; $0.maxQueue = 400 }) { client, scheduler in
            guard let port = client.port else { return XCTFail("no port") }
            let long: [String: Any] = ["texts": Array(repeating: ServingFixtures.expected.texts[0], count: 400),
                                       "num_beams": 3, "min_length": 60, "max_length": 60, "no_repeat_ngram_size": 0]
            let payload = try JSONSerialization.data(withJSONObject: long)
            let request = "POST /summarize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
            let fd = try rawConnect(port: port)
            _ = (Array(request.utf8) + [UInt8](payload)).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            // wait until its texts are decoding, then hang up
            for _ in 0..<500 where scheduler.load.active == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
            XCTAssertGreaterThan(scheduler.load.active, 0)
            XCTAssertGreaterThan(scheduler.load.queued, 0, "texts still waiting when the client hangs up")
            close(fd)
            for _ in 0..<1000 where scheduler.load.active + scheduler.load.queued > 0 { try await Task.sleep(nanoseconds: 10_000_000) }
            XCTAssertEqual(scheduler.load.active + scheduler.load.queued, 0, "the texts left the batch and the queue")
            let m = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            XCTAssertGreaterThanOrEqual(counter(m, "brevity_client_disconnects_total"), 1)
            let ok = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                              body: body(["texts": ["Hello world."], "max_length": 5]))
            XCTAssertEqual(ok.status, .ok)
        }
    }
}
