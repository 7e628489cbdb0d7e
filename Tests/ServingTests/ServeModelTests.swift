import Foundation
import TestSupport
import XCTest

/// Which models `brevity serve` runs and why, as operators start it: a sentence-embedding model
/// makes the service extractive; `--extractive-model` adds that mode beside a seq2seq model; `--mode`
/// picks the default; impossible choices exit 2 with a message before anything listens.
final class ServeModelTests: XCTestCase {
    struct Served {
        let process: Process
        let port: Int
        let log: URL
        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    }

    /// Starts `brevity serve ARGS` on a free port with an empty hub cache and the hub offline.
    func serve(_ args: [String]) throws -> Served {
        let port = try freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = dir.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = try brevityBinary()
        p.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--log-level", "info"] + args
        var env = ProcessInfo.processInfo.environment
        for k in ["MODEL_NAME", "BREVITY_MODEL", "BREVITY_FALLBACK_MODEL", "BREVITY_EXTRACTIVE_MODEL", "BREVITY_MODE", "NUM_BEAMS"] { env[k] = nil }
        env["HF_HOME"] = dir.appendingPathComponent("hf").path
        env["HF_HUB_OFFLINE"] = "1"
        p.environment = env
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return Served(process: p, port: port, log: log)
    }

    /// /health once /ready answers 200 (nil when the process exits first).
    func health(_ s: Served) async throws -> [String: Any]? {
        for _ in 0..<1200 where s.process.isRunning {
            if let (code, _) = try? await httpRequest(s.port, "GET", "/ready"), code == 200 {
                return try JSONSerialization.jsonObject(with: try await httpRequest(s.port, "GET", "/health").1) as? [String: Any]
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return nil
    }

    func stop(_ s: Served) {
        if s.process.isRunning { s.process.terminate() }
        s.process.waitUntilExit()
    }

    func testSentenceEmbeddingModelServesExtractive() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let s = try serve(["--model", minilm])
        defer { stop(s) }
        let h = try await health(s)
        XCTAssertEqual(h?["mode"] as? String, "extractive", s.text)
        XCTAssertEqual(h?["modes"] as? [String], ["extractive"])
        let reason = h?["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("is the model folder given") && reason.contains("sentence-embedding"), reason)
        XCTAssertTrue(s.text.contains("mode=extractive"), s.text)
        let body = try JSONSerialization.data(withJSONObject: ["texts": ["The storm hit the coast. Power failed across the city. Schools closed."],
                                                               "num_sentences": 1])
        let (code, data) = try await httpRequest(s.port, "POST", "/summarize", body: body)
        XCTAssertEqual(code, 200, String(decoding: data, as: UTF8.self))
    }

    func testBothModesAndTheDefaultMode() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let s = try serve(["--model", ServingFixtures.folder.path, "--extractive-model", minilm, "--mode", "extractive"])
        defer { stop(s) }
        let h = try await health(s)
        XCTAssertEqual(h?["mode"] as? String, "extractive", s.text)
        XCTAssertEqual(h?["modes"] as? [String], ["abstractive", "extractive"])
        XCTAssertEqual(h?["model"] as? String, minilm)
        XCTAssertTrue((h?["reason"] as? String ?? "").contains("--mode makes extractive the default"))
        // "mode": "abstractive" still reaches the seq2seq model
        let body = try JSONSerialization.data(withJSONObject: ["texts": [ServingFixtures.expected.texts[0]], "mode": "abstractive"])
        let (code, data) = try await httpRequest(s.port, "POST", "/summarize", body: body)
        XCTAssertEqual(code, 200)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["model"] as? String, ServingFixtures.folder.path)
    }

    func testImpossibleChoicesExit2WithAMessage() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let cases: [([String], String)] = [
            (["--model", minilm, "--mode", "abstractive"], "--mode abstractive: the service has no abstractive model"),
            (["--model", ServingFixtures.folder.path, "--extractive-model", ServingFixtures.folder.path], "is not a sentence-transformers model"),
            (["--model", "nobody/absent-model"], "nobody/absent-model"),
            (["--model", "nobody/absent-model", "--fallback-model", "/no/such/folder"], "neither could the fallback /no/such/folder"),
            (["--model", minilm, "--mode", "summary"], "expected abstractive or extractive"),
            (["--model", minilm, "--dtype", "int4"], "expected float32 (fp32), bfloat16 (bf16), float16 (fp16) or int8"),
            (["--model", minilm, "--device", "tpu"], "expected auto, cpu or cuda"),
            // no GPU here (and no CUDA backend in this build): an explicit cuda is refused, saying why
            (["--model", minilm, "--device", "cuda"], "--device cuda: "),
        ]
        for (args, message) in cases {
            let s = try serve(args)
            s.process.waitUntilExit()
            XCTAssertEqual(s.process.terminationStatus, 2, "\(args): \(s.text)")
            XCTAssertTrue(s.text.contains(message), "\(args): \(s.text)")
        }
    }
}
