import BrevityKit
import Foundation
import Generation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Models
import NIOCore
import NN
import Tensor
import XCTest
@testable import Serving

/// Token ids past the embedding table. bart-large-cnn's config says `vocab_size` 50264
/// while its tokenizer maps `<mask>` to 50264; the tiny summarizer is rebuilt here the same way (399
/// embeddings, `<mask>` = 399), so a text containing `<mask>` must be refused, never embedded from
/// memory past the table.
final class VocabularyBoundsTests: XCTestCase {
    /// summarizer-tiny with its vocabulary cut to 399 rows: config, `model.shared.weight` and
    /// `final_logits_bias`; the tokenizer (which still maps `<mask>` to 399) is unchanged.
    static let folder = summarizerFolder(vocabulary: 399)

    static let engine = try! SummarizationEngine.load(folder: folder, name: "summarizer-tiny-399", weightType: .f32, backend: CPUBackend.shared)

    func testMaskPastTheTableIsA422AndTheServiceKeepsServing() async throws {
        XCTAssertEqual(Self.engine.tokenizer.tokenToId("<mask>"), 399)
        XCTAssertEqual(Self.engine.model.vocabularySize, 399)
        let (app, scheduler, _) = buildApplication(config: testConfig(), engine: Self.engine)
        try await waitReady(scheduler)
        try await app.test(.ahc(.http)) { client in
            for (payload, field) in [(["texts": ["Fine text.", "A text with <mask> in it."]] as [String: Any], "texts[1]"),
                                     (["inputs": "Hello <mask> world"], "inputs[0]")] {
                for uri in ["/summarize", "/summarize/stream"] {
                    let r = try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: body(payload))
                    XCTAssertEqual(r.status, .unprocessableContent, "\(uri): \(String(buffer: r.body))")
                    let e = errorOf(r)
                    XCTAssertEqual(e?.field, field, uri)
                    XCTAssertTrue(e?.message.contains("'<mask>' (id 399)") ?? false, "\(uri): \(e?.message ?? "")")
                    XCTAssertTrue(e?.message.contains("399 embeddings") ?? false, e?.message ?? "")
                }
            }
            let ok = try await client.execute(uri: "/summarize", method: .post, headers: jsonHeaders,
                                              body: body(["texts": ["The service still answers after refusing a token."]]))
            XCTAssertEqual(ok.status, .ok, String(buffer: ok.body))
        }
    }

    /// The generation API refuses what the server would have refused: ids past the table, and special ids
    /// (decoder start, forced BOS/EOS, EOS) that would index past the logits.
    func testDecodingBatchRefusesIdsPastTheVocabulary() throws {
        let model = Self.engine.model
        let config = try Self.engine.resolve(GenerationConfig())
        var batch = DecodingBatch(model: model)
        XCTAssertThrowsError(try batch.add([GenerationRequest(id: 0, inputIds: [0, 5, 399, 2], config: config)])) { e in
            XCTAssertEqual(e as? GenerationError,
                           .tokenOutOfVocabulary(input: 0, TokenIdError(position: 2, id: 399, vocabulary: 399)))
        }
        XCTAssertThrowsError(try batch.add([GenerationRequest(id: 1, inputIds: [0, -1, 2], config: config)]))
        for (field, edit) in [("forced_bos_token_id", { (c: inout ResolvedGeneration) in c.forcedBosTokenId = 399 }),
                              ("forced_eos_token_id", { $0.forcedEosTokenIds = [1000] }),
                              ("eos_token_id", { $0.eosTokenIds = [2, 400] }),
                              ("decoder_start_token_id", { $0.decoderStartTokenId = -3 })] {
            var c = config
            edit(&c)
            XCTAssertThrowsError(try batch.add([GenerationRequest(id: 2, inputIds: [0, 5, 2], config: c)]), field) { e in
                guard case .invalidParameter(let f, _)? = e as? GenerationError else { return XCTFail("\(e)") }
                XCTAssertEqual(f, field)
            }
        }
        XCTAssertTrue(batch.isEmpty, "a refused request must not join the batch")
        try batch.add([GenerationRequest(id: 3, inputIds: [0, 5, 398, 2], config: config)])
        XCTAssertEqual(batch.count, 1)
    }
}
