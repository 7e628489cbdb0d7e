// BERT and sentence embeddings against sentence-transformers on the real all-MiniLM-L6-v2 weights.
// References: Tests/Fixtures/minilm/{embeddings,hidden_states}.json, written by
// scripts/fixtures/minilm/make_fixtures.py (sentence-transformers 6.2.0, transformers 5.24.0,
// torch 2.13.0+cpu, float32 on the CPU). Bars (docs/architecture.md §3): cosine >= 0.9999 per sentence, hidden states
// max-abs <= 1e-4 (the fixture keeps 8 significant digits, so rounding adds < 1e-6).

import Extractive
import Foundation
@testable import Models
import NN
import Tensor
import XCTest

final class BERTTests: XCTestCase {
    func testSentenceEmbeddingsMatchSentenceTransformers() throws {
        let embedder = try MiniLM.embedder()
        let fixture = try MiniLM.json("minilm/embeddings.json")
        XCTAssertEqual(fixture["max_seq_length"] as? Int, embedder.maxSeqLength)
        let items = fixture["items"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(items.count, 60)
        XCTAssertGreaterThanOrEqual(items.filter { ints($0["ids"]).count == 256 }.count, 6, "inputs past 256 tokens")
        var worst = (cos: 1.0, index: -1)
        for (i, item) in items.enumerated() {
            let text = item["text"] as! String
            XCTAssertEqual(try embedder.inputIds(text), ints(item["ids"]), "ids of item \(i)")
            let v = try embedder.embed([text])[0]
            let c = cosine(v, floats(item["embedding"]))
            XCTAssertGreaterThanOrEqual(c, 0.9999, "item \(i): \(text.prefix(60))")
            if c < worst.cos { worst = (c, i) }
        }
        print("MiniLM embeddings: \(items.count) sentences, worst cosine 1 - \(String(format: "%.2e", 1 - worst.cos)) at item \(worst.index)")
    }

    func testHiddenStatesMatchBertModel() throws {
        let embedder = try MiniLM.embedder()
        let fixture = try MiniLM.json("minilm/hidden_states.json")
        for item in fixture["items"] as! [[String: Any]] {
            let ids = ints(item["ids"])
            XCTAssertEqual(try embedder.inputIds(item["text"] as! String), ids)
            let h = embedder.model.hiddenStates([ids])[0]
            XCTAssertEqual(h.shape, ints(item["shape"]))
            let d = maxAbsDiff(h.toArray(), floats(item["last_hidden_state"]))
            print("hidden state of \(ids.count) tokens: max |diff| \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4)
        }
    }

    /// Packed inputs of different lengths: each result equals the input embedded alone.
    func testBatchEqualsEachInputAlone() throws {
        let embedder = try MiniLM.embedder()
        let texts = (try MiniLM.json("minilm/embeddings.json")["items"] as! [[String: Any]]).map { $0["text"] as! String }
        let batched = try embedder.embed(texts)
        var worst: Float = 0
        for (i, t) in texts.enumerated() {
            worst = max(worst, maxAbsDiff(batched[i], try embedder.embed([t])[0]))
        }
        print("batched vs alone: max |diff| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-6)
        // a small batch limit splits the same inputs into many forward passes
        let small = try SentenceTransformerEmbedder(tokenizer: embedder.tokenizer, model: embedder.model, maxSeqLength: 256)
        small.batchTokens = 300
        let again = try small.embed(texts)
        for i in texts.indices { XCTAssertLessThanOrEqual(maxAbsDiff(again[i], batched[i]), 1e-6) }
    }

    func testFolderSettings() throws {
        let embedder = try MiniLM.embedder()
        XCTAssertEqual(embedder.maxSeqLength, 256)
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalize)
        XCTAssertEqual(embedder.dimension, 384)
        XCTAssertTrue(SentenceTransformerEmbedder.isSentenceTransformerFolder(try MiniLM.folder()))
        XCTAssertEqual(try embedder.tokenCount("A short sentence."), 4)
        XCTAssertEqual(try embedder.tokenCount(String(repeating: "word ", count: 300)), 300)
        let v = try embedder.embed(["A short sentence."])[0]
        XCTAssertEqual(Double(v.reduce(0) { $0 + $1 * $1 }), 1, accuracy: 1e-5)
        XCTAssertEqual(try embedder.embed([]).count, 0)
    }

    func testConfigValidation() throws {
        func decode(_ json: String) throws -> BertConfig { try JSONDecoder().decode(BertConfig.self, from: Data(json.utf8)) }
        let c = try decode(#"{"model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "layer_norm_eps": 1e-12}"#)
        XCTAssertEqual(c.hiddenSize, 384)
        XCTAssertEqual(c.intermediateSize, 3072)
        XCTAssertEqual(c.hiddenAct, "gelu")
        for bad in [#"{"model_type": "roberta"}"#, #"{"hidden_size": 100, "num_attention_heads": 12}"#,
                    #"{"hidden_act": "mish"}"#, #"{"position_embedding_type": "relative_key"}"#,
                    #"{"num_hidden_layers": 0}"#, #"{"layer_norm_eps": 0}"#] {
            XCTAssertThrowsError(try decode(bad), bad) { XCTAssertTrue($0 is ModelError, "\($0)") }
        }
    }

    /// A tiny random BERT with a `bert.` prefix (as BertFor* checkpoints store it) and token types.
    func testTinyRandomBertWithPrefixAndTokenTypes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (v, d, i, p) = (20, 8, 16, 12)
        try Data(#"{"model_type":"bert","vocab_size":20,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":12,"type_vocab_size":2}"#.utf8)
            .write(to: dir.appendingPathComponent("config.json"))
        var rng = SystemRandomNumberGenerator()
        func rand(_ shape: [Int]) -> [Float] { (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.5...0.5, using: &rng) } }
        var tensors: [(name: String, shape: [Int], values: [Float], dtype: DType)] = []
        func add(_ name: String, _ shape: [Int]) { tensors.append(("bert." + name, shape, rand(shape), .f32)) }
        add("embeddings.word_embeddings.weight", [v, d]); add("embeddings.position_embeddings.weight", [p, d])
        add("embeddings.token_type_embeddings.weight", [2, d])
        add("embeddings.LayerNorm.weight", [d]); add("embeddings.LayerNorm.bias", [d])
        for l in 0..<2 {
            let s = "encoder.layer.\(l)."
            for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                add(s + m + ".weight", [d, d]); add(s + m + ".bias", [d])
            }
            add(s + "intermediate.dense.weight", [i, d]); add(s + "intermediate.dense.bias", [i])
            add(s + "output.dense.weight", [d, i]); add(s + "output.dense.bias", [d])
            for n in ["attention.output.LayerNorm", "output.LayerNorm"] { add(s + n + ".weight", [d]); add(s + n + ".bias", [d]) }
        }
        try writeSafetensors(tensors, to: dir.appendingPathComponent("model.safetensors"))
        let model = try BertModel(folder: dir, backend: CPUBackend.shared)
        let a = [1, 5, 7, 2], b = [1, 9, 2]
        let alone = model.hiddenStates([a], tokenTypes: [[0, 0, 1, 1]])[0].toArray()
        let packed = model.hiddenStates([b, a], tokenTypes: [[0, 0, 0], [0, 0, 1, 1]])[1].toArray()
        XCTAssertLessThanOrEqual(maxAbsDiff(alone, packed), 1e-6)
        XCTAssertGreaterThan(maxAbsDiff(alone, model.hiddenStates([a])[0].toArray()), 1e-4, "token types change the states")
        let e = model.sentenceEmbeddings([a, b])
        XCTAssertEqual(e.count, 2)
        for vec in e { XCTAssertEqual(Double(vec.reduce(0) { $0 + $1 * $1 }), 1, accuracy: 1e-5) }
        XCTAssertThrowsError(try BertModel(folder: dir.appendingPathComponent("missing"), backend: CPUBackend.shared))
    }
}
