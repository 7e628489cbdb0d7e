// Shared helpers: fixture paths and JSON, comparisons that print the largest difference.

import Foundation
import Tensor
import TestSupport
import XCTest

enum Fixtures {
    /// Tests/Fixtures/bart (written by scripts/fixtures/bart/make_fixtures.py).
    static let bart = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bart")
    /// Tests/Fixtures/seq2seq (written by scripts/fixtures/seq2seq/make_fixtures.py).
    static let seq2seq = bart.deletingLastPathComponent().appendingPathComponent("seq2seq")
    static let bartModels = ["bart-tiny", "distilbart-tiny", "mbart-tiny"]
    /// Every tiny summarizer with recorded transformers outputs: one per architecture and switch.
    static let models = bartModels + ["pegasus-tiny", "t5-tiny", "flan-t5-tiny"]
    /// Tests/Fixtures/copy/bart-copy-tiny (scripts/fixtures/copy/make_copy_model.py): a tiny BART trained to
    /// write a news text's opening sentences, with generate.json on 30 held-out texts (no reference.json).
    static let copyModel = "bart-copy-tiny"
    /// The models with recorded `generate` outputs: every family's, and the one that really copies.
    static let generating = models + [copyModel]

    /// A fixture model's folder.
    static func folder(_ name: String) -> URL {
        if name == copyModel { return bart.deletingLastPathComponent().appendingPathComponent("copy/\(name)") }
        return (bartModels.contains(name) ? bart : seq2seq).appendingPathComponent(name)
    }

    /// NVRTC where `make test` fetched it (BREVITY_NVRTC, with BREVITY_CUDA_INCLUDE's headers): the engine
    /// reads no environment, so the tests hand the paths over themselves.
    static func nvrtc() throws -> NVRTCCompiler {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["BREVITY_NVRTC"], FileManager.default.fileExists(atPath: path) else {
            try prerequisiteMissing("BREVITY_NVRTC is not set to a libnvrtc (make test fetches nvidia-cuda-nvrtc-cu12)")
        }
        return try NVRTCCompiler(path: path, includes: env["BREVITY_CUDA_INCLUDE"].map { $0.split(separator: ":").map(String.init) })
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }
}

/// Numbers of a fixture (JSON numbers, or "-inf"/"inf" strings) as Float.
func floats(_ any: Any?) -> [Float] {
    ((any as? [Any]) ?? []).map { v in
        if let s = v as? String { return s == "-inf" ? -.infinity : .infinity }
        return (v as! NSNumber).floatValue
    }
}

func ints(_ any: Any?) -> [Int] { ((any as? [Any]) ?? []).map { ($0 as! NSNumber).intValue } }

/// Max-abs comparison; on failure prints the largest difference and the first mismatches (llm.c style).
@discardableResult
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) -> Float {
    guard actual.count == expected.count else {
        XCTFail("\(what): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return .infinity
    }
    var worst: Float = 0, worstAt = 0
    var mismatches: [String] = []
    for i in actual.indices {
        let (a, e) = (actual[i], expected[i])
        if a == e { continue }   // also equal infinities
        let d = abs(a - e)
        if !(d <= tolerance) {
            if mismatches.count < 5 { mismatches.append("[\(i)] \(a) vs \(e)") }
        }
        if !(d <= worst) { worst = d.isNaN ? .infinity : d; worstAt = i }
    }
    if !mismatches.isEmpty {
        XCTFail("\(what): max |diff| \(worst) at \(worstAt) > \(tolerance); first: \(mismatches.joined(separator: ", "))",
                file: file, line: line)
    }
    return worst
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { m, p in p.0 == p.1 ? m : max(m, abs(p.0 - p.1)) }
}

/// One recorded setting of a model's generate.json: parameters, inputs and transformers' sequences.
struct GenerateSetting {
    let name: String
    let params: [String: Any]
    let inputs: [[Int]]
    let expected: [[[Int]]]

    static func load(_ model: String) throws -> [GenerateSetting] {
        let j = try Fixtures.json(Fixtures.folder(model).appendingPathComponent("generate.json"))
        return (j["settings"] as! [[String: Any]]).map { s in
            let cases = s["cases"] as! [[String: Any]]
            return GenerateSetting(name: s["name"] as! String, params: s["params"] as! [String: Any],
                                   inputs: cases.map { ints($0["input_ids"]) },
                                   expected: cases.map { ($0["sequences"] as! [Any]).map(ints) })
        }
    }

    /// The first `n` cases only.
    func prefix(_ n: Int) -> GenerateSetting {
        GenerateSetting(name: name, params: params, inputs: Array(inputs.prefix(n)), expected: Array(expected.prefix(n)))
    }
}
