// Drafting and beam streaming on a model that really copies: Tests/Fixtures/copy/bart-copy-tiny, a tiny BART
// trained on real news (scripts/fixtures/copy/make_copy_model.py) to write a text's opening sentences, run on
// 30 texts its training never saw. Random fixtures rarely accept a source draft; this one does, so the
// passes a drafted search saves are measured here on real copy structure, with ids equal to transformers'.

import Foundation
import Generation
import Models
import Tensor
import XCTest

final class CopyModelTests: XCTestCase {
    /// Source drafts (k = 6) on the held-out texts: ids equal transformers' greedy and beam-4 generate, alone
    /// (all 30) and 4 at once (12), and the search takes far fewer decoder passes than steps. Rows are not limited to the
    /// CPU's nearly free ones (a GPU's budget), so every pass may draft.
    func testSourceDraftsOnTheCopyModelSaveMostPassesWithTheSameIds() throws {
        let name = Fixtures.copyModel, folder = Fixtures.folder(name)
        let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
        let defaults = try GenerationConfig.model(folder: folder)
        var seen: [String: Double] = [:]
        for s in try GenerateSetting.load(name) {
            let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
            XCTAssertGreaterThanOrEqual(s.inputs.count, 20, "\(s.name): held-out cases")
            let configs = Array(repeating: config, count: s.inputs.count)
            var plain = DraftStatistics(), drafted = DraftStatistics()
            let alone = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1,
                                     statistics: { plain = $0 })
            XCTAssertEqual(alone, s.expected, "\(s.name) without drafts")
            let got = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1,
                                   drafts: (6, .source), draftRowLimit: 64, statistics: { drafted = $0 })
            XCTAssertEqual(got, s.expected, "\(s.name) with source drafts")
            // 4 at once: the first 12 texts (DraftingTests batches 8 more ways)
            let batched = try generate(model: model, inputs: Array(s.inputs.prefix(12)), configs: Array(configs.prefix(12)), maxBatchSize: 4,
                                       drafts: (6, .source), draftRowLimit: 64)
            XCTAssertEqual(batched, Array(s.expected.prefix(12)), "\(s.name) with source drafts, 4 at once")
            XCTAssertEqual(drafted.steps, plain.steps, s.name)
            XCTAssertEqual(plain.passes, plain.steps, "\(s.name): a plain search takes a pass a step")
            let perStep = Double(drafted.passes) / Double(drafted.steps)
            seen[s.name] = perStep
            print("copy model, \(s.name): \(s.inputs.count) held-out texts, \(drafted.passes) passes for \(drafted.steps) steps "
                  + "(\(String(format: "%.3f", perStep)) per step), \(drafted.accepted)/\(drafted.proposed) drafted tokens used, "
                  + "\(drafted.rollbacks) rollbacks")
            XCTAssertGreaterThan(drafted.accepted, 0, s.name)
        }
        // the bounds drafting is held to (docs/architecture.md, "Drafting from the source"): a greedy text takes
        // at most 0.35 passes per token; beam 4 takes a pass for at most 0.6 of its steps
        XCTAssertLessThanOrEqual(try XCTUnwrap(seen["greedy"]), 0.35)
        XCTAssertLessThanOrEqual(try XCTUnwrap(seen["beam4"]), 0.6)
    }

    /// A beam search streams as it settles: on texts whose beams agree early, its first settled tokens are
    /// out long before the search ends, each streamed prefix is a prefix of transformers' result, and it
    /// only grows.
    func testABeamSearchOnTheCopyModelStreamsLongBeforeItEnds() throws {
        let name = Fixtures.copyModel, folder = Fixtures.folder(name)
        let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
        let defaults = try GenerationConfig.model(folder: folder)
        let s = try XCTUnwrap(GenerateSetting.load(name).first { $0.name == "beam4" })
        let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
        for drafts in [nil, (tokens: 6, proposer: DraftProposer.source)] {
            var firstAt = [Int?](repeating: nil, count: s.inputs.count)   // the search step of the first streamed token
            var halfAt = [Int?](repeating: nil, count: s.inputs.count)    // ... of half the result streamed
            var steps = [Int](repeating: 0, count: s.inputs.count), done = [Bool](repeating: false, count: s.inputs.count)
            var seen = [[Int]](repeating: [], count: s.inputs.count)
            let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count),
                                   maxBatchSize: 1, finished: { i, _ in done[i] = true },
                                   afterStep: { batch in
                for i in s.inputs.indices where !done[i] {
                    guard let p = batch.progress(id: i) else { continue }
                    steps[i] += 1
                    let want = s.expected[i][0]
                    XCTAssertEqual(Array(want.prefix(p.count)), p, "input \(i): not a prefix of the result")
                    XCTAssertEqual(Array(p.prefix(seen[i].count)), seen[i], "input \(i): a streamed token changed")
                    seen[i] = p
                    // p holds the decoder start token and the forced <s>: text starts after them
                    if p.count > 2, firstAt[i] == nil { firstAt[i] = steps[i] }
                    if p.count - 1 >= (want.count - 1) / 2, halfAt[i] == nil { halfAt[i] = steps[i] }
                }
            }, drafts: drafts, draftRowLimit: 64)
            XCTAssertEqual(got, s.expected, "drafts \(drafts != nil)")
            let early = s.inputs.indices.filter { i in (halfAt[i] ?? .max) < steps[i] }
            let firsts = s.inputs.indices.compactMap { firstAt[$0] }
            print("copy model, beam4 streaming (drafts \(drafts != nil)): \(early.count)/\(s.inputs.count) texts had half their "
                  + "summary out before the search ended; first text at decoder batch step \(firsts.sorted()[firsts.count / 2]) (median) "
                  + "of \(steps.sorted()[steps.count / 2])")
            XCTAssertGreaterThanOrEqual(early.count * 2, s.inputs.count, "half the texts stream half their summary early")
        }
    }
}
