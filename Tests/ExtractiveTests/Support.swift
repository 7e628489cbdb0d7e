// Shared helpers: the real all-MiniLM-L6-v2 folder, fixture paths.

import Extractive
import Foundation
import TestSupport
import Tensor
import XCTest

enum MiniLM {
    static let fixtures = TestPaths.fixtures

    /// The model folder; under CI (env CI set) a missing folder fails, locally the test is skipped.
    static func folder() throws -> URL { try TestPaths.miniLMFolder() }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: SentenceTransformerEmbedder?

    /// One embedder shared by the tests (loading maps the weights once).
    static func embedder() throws -> SentenceTransformerEmbedder {
        let dir = try folder()
        lock.lock()
        defer { lock.unlock() }
        if let e = cached { return e }
        let e = try SentenceTransformerEmbedder(folder: dir, backend: CPUBackend.shared)
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
