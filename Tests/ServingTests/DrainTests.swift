import Foundation
import TestSupport
import XCTest
@testable import Serving

/// `brevity serve` as operators run it: SIGTERM stops new work, lets the request in flight finish, and
/// the process exits 0.
final class DrainTests: XCTestCase {
    func testSIGTERMFinishesInFlightWorkThenExitsZero() async throws {
        let bin = try brevityBinary()
        let port = try freePort()
        let p = Process()
        p.executableURL = bin
        p.arguments = ["serve", "--model", ServingFixtures.folder.path, "--host", "127.0.0.1", "--port", String(port),
                       "--max-concurrent-batch", "1", "--drain-timeout", "60", "--log-level", "warning"]
        // a request of 2000 texts decoded one at a time: seconds of work in a release build, so SIGTERM
        // surely arrives while it is in flight (checked below, else the test would prove nothing)
        p.environment = ProcessInfo.processInfo.environment.merging(["BREVITY_MAX_TEXTS": "2000", "BREVITY_MAX_QUEUE": "2000",
                                                                     "BREVITY_LATENCY_TARGET": "none"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        var ready = false
        for _ in 0..<600 {
            if let (s, _) = try? await httpRequest(port, "GET", "/ready"), s == 200 { ready = true; break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertTrue(ready, "the server never became ready")
        let texts = Array(repeating: ServingFixtures.expected.texts[0], count: 2000)
        let payload = try JSONSerialization.data(withJSONObject: ["texts": texts, "num_beams": 3, "min_length": 60, "max_length": 60,
                                                                  "no_repeat_ngram_size": 0])
        let done = Flag()
        let inflight = Task { () throws -> (Int, Data) in
            defer { done.set() }
            return try await httpRequest(port, "POST", "/summarize", body: payload)
        }
        // wait until its texts are decoding (the scheduler's steps show in /metrics)
        var decoding = false
        for _ in 0..<300 {
            if let (_, m) = try? await httpRequest(port, "GET", "/metrics"),
               String(decoding: m, as: UTF8.self).contains("brevity_batch_size_count"),
               !String(decoding: m, as: UTF8.self).contains("brevity_batch_size_count 0") { decoding = true; break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTAssertTrue(decoding, "the request never started decoding")
        kill(p.processIdentifier, SIGTERM)
        XCTAssertFalse(done.isSet, "the request must still be in flight when SIGTERM arrives")
        // draining (once the signal is handled): new work is refused while the request in flight goes on
        var draining = false
        for _ in 0..<200 {
            if let (status, body) = try? await httpRequest(port, "GET", "/ready"), status == 503,
               String(decoding: body, as: UTF8.self).contains("draining") { draining = true; break }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        XCTAssertTrue(draining, "/ready never said draining")
        XCTAssertFalse(done.isSet, "still in flight while draining")
        let (status, data) = try await inflight.value
        XCTAssertEqual(status, 200, String(decoding: data.prefix(300), as: UTF8.self))
        let summaries = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["summaries"] as? [[String: Any]]
        XCTAssertEqual(summaries?.count, 2000)
        for _ in 0..<300 where p.isRunning { try await Task.sleep(nanoseconds: 100_000_000) }
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(p.terminationStatus, 0)
    }
}

/// A flag one task sets and another reads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
