// Shared helpers: the real all-MiniLM-L6-v2 folder, fixture paths.

import Extractive
import Foundation
import XCTest

enum MiniLM {
    /// $BREVITY_MODELS (set by `make test`) or <repo>/models.
    static var modelsDir: URL {
        if let env = ProcessInfo.processInfo.environment["BREVITY_MODELS"] { return URL(fileURLWithPath: env) }
        return repoRoot.appendingPathComponent("models")
    }
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures")

    /// The model folder; under CI (env CI set) a missing folder fails, locally the test is skipped.
    static func folder() throws -> URL {
        let dir = modelsDir.appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("\(dir.path) is missing: `make test` runs `make models` first")
                throw EmbedderError("\(dir.path) is missing")
            }
            throw XCTSkip("\(dir.path) is missing: run `make models` (make test does)")
        }
        return dir
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: SentenceTransformerEmbedder?

    /// One embedder shared by the tests (loading maps the weights once).
    static func embedder() throws -> SentenceTransformerEmbedder {
        let dir = try folder()
        lock.lock()
        defer { lock.unlock() }
        if let e = cached { return e }
        let e = try SentenceTransformerEmbedder(folder: dir)
        cached = e
        return e
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent(path))) as! [String: Any]
    }
}

func floats(_ any: Any?) -> [Float] { ((any as? [Any]) ?? []).map { ($0 as! NSNumber).floatValue } }
func ints(_ any: Any?) -> [Int] { ((any as? [Any]) ?? []).map { ($0 as! NSNumber).intValue } }

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in a.indices { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { m, p in max(m, abs(p.0 - p.1)) }
}
