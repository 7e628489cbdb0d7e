import BrevityKit
import Foundation
import Generation
import Models
import Tensor
@testable import Serving

/// The tiny summarizer with decoder steps slowed to `baseMs + perRowMs × rows` milliseconds: a model whose
/// step time depends on the batch's rows the way a large model's does, for tests of the scheduler's
/// admission policy and of disconnects that must stop work within a step.
struct SlowModel: Seq2SeqModel {
    let inner: any Seq2SeqModel
    let baseMs: Double
    let perRowMs: Double

    var modelType: String { inner.modelType }
    var vocabularySize: Int { inner.vocabularySize }
    var maxPositions: Int { inner.maxPositions }
    var backend: any Backend { inner.backend }

    func encode(_ inputs: [[Int]]) -> [EncodedInput] { inner.encode(inputs) }
    func makeCache(capacity: Int) -> DecoderCache { inner.makeCache(capacity: capacity) }

    func decode(_ tokens: [[Int]], caches: inout [DecoderCache], encoded: [EncodedInput], allPositions: Bool) -> Tensor {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let out = inner.decode(tokens, caches: &caches, encoded: encoded, allPositions: allPositions)
        let target = UInt64((baseMs + perRowMs * Double(tokens.count)) * 1e6)
        let spent = DispatchTime.now().uptimeNanoseconds - t0
        if spent < target { usleep(UInt32((target - spent) / 1000)) }
        return out
    }

    /// An engine over the tiny summarizer's tokenizer and defaults with this model.
    static func engine(baseMs: Double, perRowMs: Double) -> SummarizationEngine {
        let e = ServingFixtures.engine
        return SummarizationEngine(model: SlowModel(inner: e.model, baseMs: baseMs, perRowMs: perRowMs), tokenizer: e.tokenizer,
                                   defaults: e.defaults, name: "summarizer-tiny-slow")
    }
}
