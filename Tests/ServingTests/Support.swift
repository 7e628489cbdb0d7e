import BrevityKit
import Foundation
import XCTest
@testable import Serving

/// The tiny summarizer fixture (Tests/Fixtures/summarizer-tiny, scripts/fixtures/serving) and its
/// transformers outputs.
enum ServingFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/summarizer-tiny")

    static let engine: SummarizationEngine = try! SummarizationEngine.load(folder: folder, name: "summarizer-tiny", weightType: .f32, backend: CPUBackend.shared)

    struct Expected {
        let texts: [String]
        let settings: [String: (params: [String: Any], outputs: [(text: String, ids: [Int], inputTokens: Int)])]
    }

    static let expected: Expected = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("expected.json"))
        let j = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var settings: [String: (params: [String: Any], outputs: [(text: String, ids: [Int], inputTokens: Int)])] = [:]
        for (name, v) in j["settings"] as! [String: Any] {
            let s = v as! [String: Any]
            let outs = (s["outputs"] as! [[String: Any]]).map {
                (text: $0["text"] as! String, ids: ($0["token_ids"] as! [NSNumber]).map(\.intValue), inputTokens: ($0["input_tokens"] as! NSNumber).intValue)
            }
            settings[name] = (s["params"] as! [String: Any], outs)
        }
        return Expected(texts: j["texts"] as! [String], settings: settings)
    }()
}

import Hummingbird
import HummingbirdTesting
import NIOCore

func testConfig(_ mutate: (inout ServerConfig) -> Void = { _ in }) -> ServerConfig {
    var c = ServerConfig()
    c.model = "summarizer-tiny"
    c.host = "127.0.0.1"
    c.port = 0
    c.logLevel = .warning
    c.shedDelay = 0   // AdmissionTests covers the delay
    mutate(&c)
    return c
}

/// Waits (at most 60 s) until the scheduler's warm-up has run.
func waitReady(_ s: BatchScheduler) async throws {
    for _ in 0..<6000 where !s.isReady { try await Task.sleep(nanoseconds: 10_000_000) }
    XCTAssertTrue(s.isReady, "the scheduler never became ready")
}

func json(_ b: ByteBuffer) -> Any? { try? JSONSerialization.jsonObject(with: Data(buffer: b), options: [.fragmentsAllowed]) }

func body(_ object: Any) -> ByteBuffer { ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object)) }

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// The error object of an error response.
func errorOf(_ r: TestResponse) -> (type: String, field: String?, message: String)? {
    guard let o = json(r.body) as? [String: Any], let e = o["error"] as? [String: Any] else { return nil }
    return (e["type"] as? String ?? "", e["field"] as? String, e["message"] as? String ?? "")
}

/// Sum and count of a Prometheus histogram in an exposition.
func histogram(_ text: String, _ name: String) -> (sum: Double, count: Double) {
    var sum = 0.0, count = 0.0
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 2 else { continue }
        if parts[0] == "\(name)_sum" { sum = Double(parts[1]) ?? 0 }
        if parts[0] == "\(name)_count" { count = Double(parts[1]) ?? 0 }
    }
    return (sum, count)
}

func counter(_ text: String, _ name: String) -> Double {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.split(separator: " ")[1]) ?? 0
    }
    return 0
}

import NN
import Tensor

/// summarizer-tiny with its vocabulary cut to `vocabulary` rows (config, `model.shared.weight`,
/// `final_logits_bias`) in a temporary folder; the tokenizer is unchanged, so ids from `vocabulary` on
/// have no embedding (bart-large-cnn's `<mask>` case at 399; a warm-up that cannot run at 5).
func summarizerFolder(vocabulary: Int) -> URL {
    let src = ServingFixtures.folder
    let dst = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-vocab\(vocabulary)-\(getpid())")
    try? FileManager.default.removeItem(at: dst)
    try! FileManager.default.createDirectory(at: dst, withIntermediateDirectories: true)
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
        try! FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dst.appendingPathComponent(f))
    }
    var config = try! JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json"))) as! [String: Any]
    config["vocab_size"] = vocabulary
    try! JSONSerialization.data(withJSONObject: config).write(to: dst.appendingPathComponent("config.json"))
    let store = try! WeightStore(files: [src.appendingPathComponent("model.safetensors")], backend: CPUBackend.shared)
    let tensors: [(name: String, shape: [Int], values: [Float], dtype: DType)] = store.names.map { name in
        let t = try! store.tensor(name)
        switch name {
        case "model.shared.weight": return (name, [vocabulary, t.columns], Array(t.toArray().prefix(vocabulary * t.columns)), .f32)
        case "final_logits_bias": return (name, [1, vocabulary], Array(t.toArray().prefix(vocabulary)), .f32)
        default: return (name, t.shape, t.toArray(), .f32)
        }
    }
    try! writeSafetensors(tensors, to: dst.appendingPathComponent("model.safetensors"))
    return dst
}
