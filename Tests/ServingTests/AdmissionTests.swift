// Admitted latency is a policy. The latency model fits step time against rows, the
// planner admits a text only while every text in the batch stays within its target, and a request the
// plan says would miss its target gets 503 with Retry-After at once instead of waiting.

import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest
@testable import Serving

final class AdmissionTests: XCTestCase {
    func testLatencyTargetIsReadFromTheEnvironment() throws {
        XCTAssertEqual(try ServerConfig.fromEnvironment(["BREVITY_LATENCY_TARGET": "20"]).latencyTarget, .seconds(20))
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["BREVITY_LATENCY_TARGET": "later"]))
    }

    /// --max-batch-tokens: read from the environment, reported by /health and /metrics in bytes (and what
    /// the texts decoding hold of it), and a text larger than the whole budget is a 503 that says so.
    func testTheMemoryBudgetIsReportedAndATextPastItIsRefused() async throws {
        XCTAssertEqual(try ServerConfig.fromEnvironment(["BREVITY_MAX_BATCH_TOKENS": "5000"]).maxBatchTokens, 5000)
        XCTAssertNil(try ServerConfig.fromEnvironment([:]).maxBatchTokens, "unset: derived from the container's limit")
        XCTAssertThrowsError(try ServerConfig.fromEnvironment(["BREVITY_MAX_BATCH_TOKENS": "0"]))
        let (app, scheduler, _) = buildApplication(config: testConfig { $0.maxBatchTokens = 60 }, engine: ServingFixtures.engine)
        try await waitReady(scheduler)
        try await app.test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            let h = json(health.body) as? [String: Any]
            XCTAssertEqual(h?["memory_budget_bytes"] as? Int, 60 * scheduler.bytesPerToken)
            XCTAssertEqual(h?["memory_used_bytes"] as? Int, 0)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            XCTAssertTrue(metrics.contains("brevity_memory_budget_bytes \(60 * scheduler.bytesPerToken)"), metrics)
            // max_length 12 at one beam plus the text's tokens fits 60; 4 beams of 20 do not
            let fits: [String: Any] = ["texts": ["The council met."], "num_beams": 1, "max_length": 12]
            let ok = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(fits))
            XCTAssertEqual(ok.status, .ok, String(buffer: ok.body))
            let big: [String: Any] = ["texts": ["The council met."], "num_beams": 4, "max_length": 20]
            let refused = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(big))
            XCTAssertEqual(refused.status, .serviceUnavailable)
            XCTAssertTrue(String(buffer: refused.body).contains("memory budget"), String(buffer: refused.body))
        }
    }

    /// Eight clients at once on a model whose steps cost 5 ms + 5 ms a row (beam 4: 25 ms alone, 165 ms
    /// for all eight): with a target of 1.5x the idle time, requests that would be late are refused at
    /// once with 503 and Retry-After, and the rest are answered; with no target every one is answered.
    func testRequestsThatWouldMissTheTargetAre503WithRetryAfter() async throws {
        let engine = SlowModel.engine(baseMs: 5, perRowMs: 5)
        let request: [String: Any] = ["texts": [ServingFixtures.expected.texts[0]], "num_beams": 4, "min_length": 20, "max_length": 20,
                                      "no_repeat_ngram_size": 0]
        for target in [LatencyTarget.auto(factor: 1.5, slack: 0.1), .unbounded] {
            let (app, scheduler, metrics) = buildApplication(config: testConfig { $0.latencyTarget = target; $0.shedDelay = 0.3 }, engine: engine)
            try await waitReady(scheduler)
            try await app.test(.ahc(.http)) { client in
                let timed = try await withThrowingTaskGroup(of: (TestResponse, Double).self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            let r = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders, body: body(request))
                            return (r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let responses = timed.map(\.0)
                let ok = responses.filter { $0.status == .ok }
                let refused = responses.filter { $0.status == .serviceUnavailable }
                // a refusal waits the shed delay before it is sent (a lower bound: the sleep guarantees it)
                for (r, seconds) in timed where r.status == .serviceUnavailable { XCTAssertGreaterThanOrEqual(seconds, 0.3) }
                XCTAssertEqual(ok.count + refused.count, 8, "\(target): only 200 and 503")
                let shed = counter(String(decoding: metrics.exposition(), as: UTF8.self), "brevity_requests_shed_total")
                if target == .unbounded {
                    XCTAssertEqual(ok.count, 8)
                    XCTAssertEqual(shed, 0)
                } else {
                    XCTAssertGreaterThanOrEqual(ok.count, 1, "an idle server takes the first request")
                    XCTAssertGreaterThanOrEqual(refused.count, 1, "eight at once cannot all be on time")
                    XCTAssertEqual(shed, Double(refused.count))
                    for r in refused {
                        XCTAssertEqual(errorOf(r)?.type, "overloaded")
                        XCTAssertGreaterThanOrEqual(Int(r.headers[.retryAfter] ?? "") ?? 0, 1)
                    }
                }
            }
        }
    }
}
