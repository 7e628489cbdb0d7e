// Drafting is exact: whatever the drafts (the source lookup, the known continuation, wrong tokens, partly
// right ones), every fixture model's greedy ids equal transformers' generate, alone and batched; right
// drafts are accepted (fewer decoder passes than tokens) and wrong ones rolled back.

import Foundation
import Generation
import Models
import Tensor
import XCTest

final class DraftingTests: XCTestCase {
    func testDraftedGreedyIdsEqualTransformersWhateverTheDrafts() throws {
        var oracleAccepted = 0, oracleProposed = 0, oracleRollbacks = 0, oracleTexts = 0, wrongRollbacks = 0, wrongAccepted = 0, partialAccepted = 0, searches = 0
        var passesWith = 0, passesWithout = 0
        for name in Fixtures.models {
            let folder = Fixtures.folder(name)
            let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
            let defaults = try GenerationConfig.model(folder: folder)
            for s in try GenerateSetting.load(name) {
                let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                guard config.numBeams == 1, !config.doSample else { continue }
                // the known continuation of each input (its transformers output)
                let known = Dictionary(zip(s.inputs, s.expected.map { $0[0] }), uniquingKeysWith: { first, _ in first })
                let oracle = DraftProposer { tokens, source, k in Array((known[source] ?? []).dropFirst(tokens.count).prefix(k)) }
                let wrong = DraftProposer { tokens, source, k in
                    (known[source] ?? []).dropFirst(tokens.count).prefix(k).map { ($0 + 1) % model.vocabularySize }
                }
                let partial = DraftProposer { tokens, source, k in
                    let right = Array((known[source] ?? []).dropFirst(tokens.count).prefix(k))
                    return right.count < 2 ? right : Array(right.prefix(right.count / 2)) + right.suffix(right.count - right.count / 2).map { ($0 + 1) % model.vocabularySize }
                }
                let configs = Array(repeating: config, count: s.inputs.count)
                for (label, proposer) in [("source", DraftProposer.source), ("oracle", oracle), ("wrong", wrong), ("partial", partial)] {
                    for batch in [1, 4] {
                        var stats = DraftStatistics()
                        let got = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: batch,
                                               drafts: (4, proposer), statistics: { stats = $0 })
                        XCTAssertEqual(got, s.expected, "\(name) \(s.name) drafts \(label), \(batch) at once")
                        guard batch == 1 else { continue }
                        switch label {
                        case "oracle":
                            oracleAccepted += stats.accepted; oracleProposed += stats.proposed; passesWith += stats.passes
                            oracleRollbacks += stats.rollbacks; oracleTexts += s.inputs.count
                            var plain = DraftStatistics()
                            _ = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1, statistics: { plain = $0 })
                            passesWithout += plain.passes
                            XCTAssertEqual(plain.proposed, 0)
                        case "wrong": wrongRollbacks += stats.rollbacks; wrongAccepted += stats.accepted
                        case "partial": partialAccepted += stats.accepted
                        default: break
                        }
                    }
                }
                searches += s.inputs.count
            }
        }
        print("drafting: \(searches) greedy texts; oracle drafts \(oracleAccepted)/\(oracleProposed) accepted, \(passesWith) passes "
              + "against \(passesWithout) without drafts; wrong drafts \(wrongRollbacks) rollbacks; partly right \(partialAccepted) accepted")
        XCTAssertGreaterThan(searches, 10)
        // the known continuation is kept until the text ends, which may be inside a draft once per text
        XCTAssertLessThanOrEqual(oracleRollbacks, oracleTexts, "the known continuation was rolled back")
        XCTAssertGreaterThan(oracleAccepted, 0)
        XCTAssertLessThan(passesWith * 2, passesWithout, "right drafts take fewer decoder passes")
        XCTAssertEqual(wrongAccepted, 0)
        XCTAssertGreaterThan(wrongRollbacks, 0, "wrong drafts are rolled back")
        XCTAssertGreaterThan(partialAccepted, 0)
    }

    /// The same on the emulated CUDA backend (a drafted step reads its whole logits on the host).
    func testDraftedIdsOnTheEmulatedCUDABackend() throws {
        let folder = Fixtures.folder("bart-tiny")
        let model = try ModelRegistry.load(folder: folder, backend: CUDABackend(stream: CUDAEmulator(), dtype: .f32), weightType: .f32)
        let defaults = try GenerationConfig.model(folder: folder)
        var checked = 0, accepted = 0
        for s in try GenerateSetting.load("bart-tiny") {
            let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
            guard config.numBeams == 1, !config.doSample else { continue }
            let known = Dictionary(zip(s.inputs, s.expected.map { $0[0] }), uniquingKeysWith: { first, _ in first })
            let oracle = DraftProposer { tokens, source, k in Array((known[source] ?? []).dropFirst(tokens.count).prefix(k)) }
            var stats = DraftStatistics()
            let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count),
                                   maxBatchSize: 4, drafts: (4, oracle), statistics: { stats = $0 })
            XCTAssertEqual(got, s.expected, s.name)
            checked += s.inputs.count
            accepted += stats.accepted
        }
        XCTAssertGreaterThan(checked, 5)
        XCTAssertGreaterThan(accepted, 0)
    }

    func testTheSourceLookupProposesWhatFollowsTheLongestSuffixFound() {
        let source = [5, 6, 7, 8, 9, 6, 7, 10, 11]
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 6, 7], source: source, k: 3), [8, 9, 6], "first occurrence of [6, 7]")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 9, 6, 7], source: source, k: 2), [10, 11], "the longer suffix [9, 6, 7] wins")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 11], source: source, k: 3), [], "nothing follows the last token")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 40], source: source, k: 3), [])
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 5], source: source, k: 0), [])
    }
}
