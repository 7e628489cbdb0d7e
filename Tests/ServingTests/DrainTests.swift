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
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // ready?
        var ready = false
        for _ in 0..<600 {
            if let (s, _) = try? await httpRequest(port, "GET", "/ready"), s == 200 { ready = true; break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertTrue(ready, "the server never became ready")
        // a request that takes a while (many texts, one at a time)
        let texts = Array(repeating: ServingFixtures.expected.texts[0], count: 12)
        let payload = try JSONSerialization.data(withJSONObject: ["texts": texts, "num_beams": 3, "min_length": 60, "max_length": 60])
        async let inflight = httpRequest(port, "POST", "/summarize", body: payload)
        try await Task.sleep(nanoseconds: 300_000_000)
        kill(p.processIdentifier, SIGTERM)
        let (status, data) = try await inflight
        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
        let summaries = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["summaries"] as? [[String: Any]]
        XCTAssertEqual(summaries?.count, 12)
        for _ in 0..<300 where p.isRunning { try await Task.sleep(nanoseconds: 100_000_000) }
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(p.terminationStatus, 0)
    }
}

