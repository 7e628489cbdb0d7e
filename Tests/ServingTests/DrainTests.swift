import Foundation
import XCTest
@testable import Serving

/// `brevity serve` as operators run it: SIGTERM stops new work, lets the request in flight finish, and
/// the process exits 0.
final class DrainTests: XCTestCase {
    /// The `brevity` binary next to the test bundle (swift test builds it).
    static var binary: URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let b = dir.appendingPathComponent("brevity")
            if FileManager.default.isExecutableFile(atPath: b.path) { return b }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A blocking HTTP/1.1 exchange over a plain socket (Connection: close), off the cooperative pool.
    func request(_ port: Int, _ method: String, _ path: String, body: Data? = nil) async throws -> (Int, Data) {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread {
                do {
                    let fd = try rawConnect(port: port)
                    defer { close(fd) }
                    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
                    let bytes = Array((head + "\r\n").utf8) + [UInt8](body ?? Data())
                    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                    var response: [UInt8] = []
                    var buf = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = recv(fd, &buf, buf.count, 0)
                        if n <= 0 { break }
                        response += buf[0..<n]
                    }
                    let text = String(decoding: response, as: UTF8.self)
                    guard let line = text.split(separator: "\r\n").first, let code = Int(line.split(separator: " ")[1]) else {
                        throw POSIXError(.EBADMSG)
                    }
                    let bodyStart = text.range(of: "\r\n\r\n").map { text.utf8.distance(from: text.startIndex, to: $0.upperBound) } ?? response.count
                    var payload = Array(response[bodyStart...])
                    if text.lowercased().contains("transfer-encoding: chunked") { payload = dechunk(payload) }
                    cont.resume(returning: (code, Data(payload)))
                } catch { cont.resume(throwing: error) }
            }
        }
    }

    func testSIGTERMFinishesInFlightWorkThenExitsZero() async throws {
        guard let bin = Self.binary else { throw XCTSkip("brevity binary not found next to the tests") }
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
            if let (s, _) = try? await request(port, "GET", "/ready"), s == 200 { ready = true; break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertTrue(ready, "the server never became ready")
        // a request that takes a while (many texts, one at a time)
        let texts = Array(repeating: ServingFixtures.expected.texts[0], count: 12)
        let payload = try JSONSerialization.data(withJSONObject: ["texts": texts, "num_beams": 3, "min_length": 60, "max_length": 60])
        async let inflight = request(port, "POST", "/summarize", body: payload)
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

/// Joins an HTTP/1.1 chunked body.
func dechunk(_ b: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        guard let nl = b[i...].firstIndex(of: 0x0A) else { break }
        let size = Int(String(decoding: b[i..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) ?? 0
        if size == 0 { break }
        out += b[(nl + 1)..<min(b.count, nl + 1 + size)]
        i = nl + 1 + size + 2
    }
    return out
}
