// What several test targets share: the repository's paths, the real MiniLM folder, the `brevity` binary
// that swift test builds, a free port, and a plain-socket HTTP/1.1 client that runs off the cooperative
// pool. A missing prerequisite skips a test locally and fails it under CI (CI set, as .ci/run does).

import Foundation
import XCTest

public enum TestPaths {
    /// The repository's root (this file is Tests/TestSupport/TestSupport.swift).
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures")

    /// $BREVITY_MODELS (set by `make test`) or <repo>/models.
    public static var modelsDir: URL {
        if let env = ProcessInfo.processInfo.environment["BREVITY_MODELS"] { return URL(fileURLWithPath: env) }
        return repoRoot.appendingPathComponent("models")
    }

    /// The all-MiniLM-L6-v2 folder `make models` fetches from PyPI.
    public static func miniLMFolder() throws -> URL {
        let dir = modelsDir.appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            try prerequisiteMissing("\(dir.path) is missing: run `make models` (make test does)")
        }
        return dir
    }
}

/// Skips locally; fails under CI, where every prerequisite is installed by `make test`.
public func prerequisiteMissing(_ what: String) throws -> Never {
    if ProcessInfo.processInfo.environment["CI"] != nil { throw PrerequisiteMissing(description: what) }
    throw XCTSkip(what)
}

public struct PrerequisiteMissing: Error, CustomStringConvertible {
    public let description: String
}

/// The `brevity` binary next to the test bundle (swift test builds it).
/// Looked for beside the test process and the loaded bundles, and a few folders up (the products folder is
/// the bundle's own on Linux, the one holding the .xctest on Darwin).
public func brevityBinaryIfBuilt() -> URL? {
    let starts = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()] + Bundle.allBundles.map(\.bundleURL)
    for start in starts {
        var dir = start
        for _ in 0..<4 {
            let b = dir.appendingPathComponent("brevity")
            if FileManager.default.isExecutableFile(atPath: b.path) { return b }
            dir = dir.deletingLastPathComponent()
        }
    }
    return nil
}

public func freePort() throws -> Int {
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
public func httpRequest(_ port: Int, _ method: String, _ path: String, body: Data? = nil) async throws -> (Int, Data) {
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

/// The binary, or a skip (a failure under CI, where swift test always builds it).
public func brevityBinary() throws -> URL {
    if let b = brevityBinaryIfBuilt() { return b }
    try prerequisiteMissing("brevity binary not found next to the tests")
}

/// Joins an HTTP/1.1 chunked body.
public func dechunk(_ b: [UInt8]) -> [UInt8] {
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

/// A connected TCP socket to 127.0.0.1:port.
public func rawConnect(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    return fd
}
