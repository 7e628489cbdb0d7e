// all-MiniLM-L6-v2 (real weights) with its projections and word embeddings held as bf16, f16 and int8
// (DTYPE): every fixture sentence's embedding against sentence-transformers' float32 one (cosine
// >= 0.999).

import Extractive
import Foundation
import Tensor
import XCTest

final class ReducedPrecisionTests: XCTestCase {
    func testEmbeddingsInEveryWeightTypeStayWithinCosine0999() throws {
        let items = try MiniLM.json("minilm/embeddings.json")["items"] as! [[String: Any]]
        let texts = items.map { $0["text"] as! String }
        for type in [DType.f16, .bf16, .int8] {
            let embedder = try SentenceTransformerEmbedder(folder: try MiniLM.folder(), backend: CPUBackend.shared, weightType: type)
            let vectors = try embedder.embed(texts)
            var worst = 1.0
            for (i, v) in vectors.enumerated() {
                let c = cosine(v, floats(items[i]["embedding"]))
                worst = min(worst, c)
                XCTAssertGreaterThanOrEqual(c, 0.999, "\(type) item \(i): \(texts[i].prefix(60))")
            }
            print("MiniLM \(type.userName): \(items.count) sentences, worst cosine vs sentence-transformers float32 1 - \(String(format: "%.2e", 1 - worst))")
        }
    }
}
