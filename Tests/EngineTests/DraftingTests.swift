// Drafting is exact: whatever the drafts (the source lookup, the known continuation, wrong tokens, partly
// right ones), every fixture model's greedy and beam-search ids equal transformers' generate, alone and
// batched; right drafts are accepted (fewer decoder passes than search steps) and wrong ones rolled back.

import Foundation
import Generation
import Models
import Tensor
import XCTest

/// Every running sequence a plain search took, per input: recorded by a proposer that proposes nothing
/// (it hears each running sequence of every step after the first), and then the oracle's knowledge.
final class RunningSequences: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [[Int]: Set<[Int]>] = [:]   // source → sequences

    var recorder: DraftProposer {
        DraftProposer { tokens, source, _ in
            self.lock.withLock { _ = self.seen[source, default: []].insert(tokens) }
            return []
        }
    }

    /// Records a finished result too (its last token is never a running sequence's).
    func add(_ tokens: [Int], source: [Int]) { lock.withLock { _ = seen[source, default: []].insert(tokens) } }

    /// The known continuation of `tokens`: while exactly one recorded sequence extends it by one token, that
    /// token. For a greedy text it is the rest of its output; for a beam, the tokens its kept descendants took
    /// while it had a single one, which is what a drafted pass can use.
    func continuation(_ tokens: [Int], source: [Int], k: Int) -> [Int] {
        lock.withLock {
            let known = seen[source] ?? []
            var current = tokens, out: [Int] = []
            while out.count < k {
                let children = known.filter { $0.count == current.count + 1 && $0.starts(with: current) }
                guard children.count == 1, let child = children.first else { break }
                out.append(child.last!)
                current = child
            }
            return out
        }
    }
}

final class DraftingTests: XCTestCase {
    struct Tally {
        var texts = 0, accepted = 0, proposed = 0, rollbacks = 0, passes = 0, plainPasses = 0, steps = 0
    }

    func testDraftedIdsEqualTransformersWhateverTheDrafts() throws {
        var tallies: [String: Tally] = [:]   // "greedy oracle", "beam wrong", ...
        for name in Fixtures.generating {
            let folder = Fixtures.folder(name)
            let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
            let defaults = try GenerationConfig.model(folder: folder)
            let v = model.vocabularySize
            // the copy model's texts are 10x longer: 8 of them (CopyModelTests runs all 30)
            for s in try GenerateSetting.load(name).map({ name == Fixtures.copyModel ? $0.prefix(8) : $0 }) {
                let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                guard !config.doSample else { continue }
                let kind = config.numBeams > 1 ? "beam" : "greedy"
                let configs = Array(repeating: config, count: s.inputs.count)
                // a plain run that records every running sequence (and checks the ids once more)
                let known = RunningSequences()
                var plain = DraftStatistics()
                let recorded = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1,
                                            drafts: (4, known.recorder), draftRowLimit: 64, statistics: { plain = $0 })
                XCTAssertEqual(recorded, s.expected, "\(name) \(s.name) recording run")
                XCTAssertEqual(plain.proposed, 0)
                for (input, sequences) in zip(s.inputs, s.expected) { for seq in sequences { known.add(seq, source: input) } }

                let oracle = DraftProposer { tokens, source, k in known.continuation(tokens, source: source, k: k) }
                let wrong = DraftProposer { tokens, source, k in known.continuation(tokens, source: source, k: k).map { ($0 + 1) % v } }
                let partial = DraftProposer { tokens, source, k in
                    let right = known.continuation(tokens, source: source, k: k)
                    return right.count < 2 ? right : Array(right.prefix(right.count / 2)) + right.dropFirst(right.count / 2).map { ($0 + 1) % v }
                }
                for (label, proposer) in [("source", DraftProposer.source), ("oracle", oracle), ("wrong", wrong), ("partial", partial)] {
                    for batch in [1, 4] {
                        var stats = DraftStatistics()
                        // every pass may draft (past the CPU's nearly free rows too): each path is exercised
                        let got = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: batch,
                                               drafts: (4, proposer), draftRowLimit: 64, statistics: { stats = $0 })
                        XCTAssertEqual(got, s.expected, "\(name) \(s.name) drafts \(label), \(batch) at once")
                        XCTAssertLessThanOrEqual(stats.accepted, stats.proposed, "\(name) \(s.name) \(label): used of those fed")
                        guard batch == 1 else { continue }
                        XCTAssertEqual(stats.steps, plain.steps, "\(name) \(s.name) \(label): the same search steps")
                        var t = tallies["\(kind) \(label)", default: Tally()]
                        t.texts += s.inputs.count; t.accepted += stats.accepted; t.proposed += stats.proposed
                        t.rollbacks += stats.rollbacks; t.passes += stats.passes; t.plainPasses += plain.passes; t.steps += stats.steps
                        tallies["\(kind) \(label)"] = t
                    }
                }
            }
        }
        for (key, t) in tallies.sorted(by: { $0.key < $1.key }) {
            print("drafting, \(key): \(t.texts) texts, \(t.accepted)/\(t.proposed) drafted tokens used, \(t.rollbacks) rollbacks, "
                  + "\(t.passes) passes against \(t.plainPasses) without drafts for \(t.steps) steps")
        }
        for kind in ["greedy", "beam"] {
            let oracle = try XCTUnwrap(tallies["\(kind) oracle"]), wrong = try XCTUnwrap(tallies["\(kind) wrong"])
            let partial = try XCTUnwrap(tallies["\(kind) partial"])
            XCTAssertGreaterThan(oracle.texts, 10, kind)
            XCTAssertGreaterThan(oracle.accepted, 0, kind)
            // a beam search takes a drafted step only while every kept beam continues its parent's draft
            XCTAssertLessThan(oracle.passes * (kind == "greedy" ? 2 : 10), oracle.plainPasses * (kind == "greedy" ? 1 : 9),
                              "\(kind): right drafts take fewer decoder passes")
            XCTAssertEqual(wrong.accepted, 0, kind)
            XCTAssertGreaterThan(wrong.rollbacks, 0, "\(kind): wrong drafts are rolled back")
            XCTAssertEqual(wrong.passes, wrong.plainPasses, "\(kind): wrong drafts cost no pass")
            XCTAssertGreaterThan(partial.accepted, 0, kind)
            XCTAssertGreaterThan(partial.rollbacks, 0, kind)
        }
        // a greedy text keeps the known continuation to its end, which may fall inside a draft once per text
        let greedy = try XCTUnwrap(tallies["greedy oracle"])
        XCTAssertLessThanOrEqual(greedy.rollbacks, greedy.texts, "the known continuation was rolled back")
    }

    /// The same on the emulated CUDA backend (a drafted step reads its whole logits on the host), for every
    /// family's fixture.
    func testDraftedIdsOnTheEmulatedCUDABackend() throws {
        var checked: [Bool: Int] = [:], accepted: [Bool: Int] = [:]
        for name in Fixtures.models {
            let t0 = Date()
            defer { print("emulated CUDA drafting, \(name): \(String(format: "%.1f", Date().timeIntervalSince(t0))) s") }
            let folder = Fixtures.folder(name)
            let model = try ModelRegistry.load(folder: folder, backend: CUDABackend(stream: CUDAEmulator(), dtype: .f32), weightType: .f32)
            let defaults = try GenerationConfig.model(folder: folder)
            var settings: [Bool: Int] = [:]
            for s in try GenerateSetting.load(name) {
                let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                // each family's first greedy and first beam setting: the emulator runs the kernels' C a thread
                // at a time
                guard !config.doSample, settings[config.numBeams > 1, default: 0] < 1 else { continue }
                settings[config.numBeams > 1, default: 0] += 1
                let known = RunningSequences()
                let configs = Array(repeating: config, count: s.inputs.count)
                _ = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1, drafts: (4, known.recorder), draftRowLimit: 64)
                for (input, sequences) in zip(s.inputs, s.expected) { for seq in sequences { known.add(seq, source: input) } }
                let oracle = DraftProposer { tokens, source, k in known.continuation(tokens, source: source, k: k) }
                var stats = DraftStatistics()
                let got = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 4, drafts: (4, oracle),
                                       draftRowLimit: 64, statistics: { stats = $0 })
                XCTAssertEqual(got, s.expected, "\(name) \(s.name)")
                checked[config.numBeams > 1, default: 0] += s.inputs.count
                accepted[config.numBeams > 1, default: 0] += stats.accepted
            }
            XCTAssertEqual(settings[false], 1, "\(name): a greedy setting")
            XCTAssertEqual(settings[true], 1, "\(name): a beam setting")
        }
        for beams in [false, true] {
            XCTAssertGreaterThan(checked[beams] ?? 0, 3, "beams \(beams)")
            XCTAssertGreaterThan(accepted[beams] ?? 0, 0, "beams \(beams)")
        }
        // and the model that really copies, with the source lookup's own drafts (a held-out text a setting;
        // 16 rows a pass: 3 drafted tokens a beam, each row of its 50,265-token output emulated)
        let t0 = Date()
        defer { print("emulated CUDA drafting, \(Fixtures.copyModel): \(String(format: "%.1f", Date().timeIntervalSince(t0))) s") }
        let copyFolder = Fixtures.folder(Fixtures.copyModel)
        let copy = try ModelRegistry.load(folder: copyFolder, backend: CUDABackend(stream: CUDAEmulator(), dtype: .f32), weightType: .f32)
        let copyDefaults = try GenerationConfig.model(folder: copyFolder)
        for s in try GenerateSetting.load(Fixtures.copyModel).map({ $0.prefix(1) }) {
            let config = try copyDefaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: copy.maxPositions)
            var stats = DraftStatistics()
            let got = try generate(model: copy, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count),
                                   maxBatchSize: 3, drafts: (6, .source), draftRowLimit: 16, statistics: { stats = $0 })
            XCTAssertEqual(got, s.expected, "copy model \(s.name)")
            XCTAssertGreaterThan(stats.accepted, 0, "copy model \(s.name)")
        }
    }

    /// A request's own switch wins over the batch's: 0 turns drafting off for it alone. The batch's applies
    /// to greedy texts; a beam search drafts only when its request asks.
    func testARequestsOwnDraftTokensWinOverTheBatchs() throws {
        let folder = Fixtures.folder("bart-tiny")
        let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
        let defaults = try GenerationConfig.model(folder: folder)
        let everything = DraftProposer { _, _, k in Array(repeating: 7, count: k) }
        var seen: Set<Bool> = []
        for s in try GenerateSetting.load("bart-tiny") {
            let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
            let beams = config.numBeams > 1
            guard !config.doSample, !seen.contains(beams) else { continue }
            seen.insert(beams)
            let cases: [(batch: Int, request: Int?, drafts: Bool)] = [(4, 0, false), (0, 3, true), (4, nil, !beams), (0, nil, false)]
            for c in cases {
                var batch = DecodingBatch(model: model)
                batch.draftTokens = c.batch
                batch.proposer = everything
                batch.draftRowLimit = 64   // past the CPU's nearly free rows, which leave 4 beams none
                try batch.add([GenerationRequest(id: 0, inputIds: s.inputs[0], config: config, draftTokens: c.request)])
                var result: [[Int]] = []
                while !batch.isEmpty { for r in batch.step() { result = r.sequences } }
                XCTAssertEqual(result, s.expected[0], s.name)
                XCTAssertEqual(batch.draftStatistics.proposed > 0, c.drafts,
                               "\(s.name): batch \(c.batch), request \(String(describing: c.request))")
            }
        }
        XCTAssertEqual(seen, [false, true], "a greedy and a beam setting")
    }

    /// Without a limit of its own a pass drafts only within the backend's nearly free rows (the CPU's sweep),
    /// and a batch already past them drafts nothing.
    func testDraftsStayWithinTheBackendsNearlyFreeRows() throws {
        let folder = Fixtures.folder("bart-tiny")
        let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
        let defaults = try GenerationConfig.model(folder: folder)
        var request = GenerationConfig()
        request.numBeams = 1
        request.maxNewTokens = 12
        request.minNewTokens = 12
        let config = try defaults.resolve(request: request, maxPositions: model.maxPositions)
        let free = CPUBackend.shared.nearlyFreeRows
        XCTAssertTrue([4, 7].contains(free), "\(free)")
        let everything = DraftProposer { _, _, k in Array(repeating: 7, count: k) }
        for texts in [1, 2, free, free + 1] {
            var batch = DecodingBatch(model: model)
            batch.draftTokens = 32
            batch.proposer = everything
            try batch.add((0..<texts).map { GenerationRequest(id: $0, inputIds: [0, 10 + $0, 11, 2], config: config) })
            _ = batch.step()
            let fed = batch.draftStatistics.proposed
            XCTAssertEqual(fed, max(0, free - texts), "\(texts) texts: the pass fills the nearly free rows and no more")
        }
        // a 4-beam search shares the rows left evenly: 12 rows give each beam 2 drafted tokens; the CPU's
        // nearly free rows (fewer than 8) give none, rather than drafts some beams cannot use
        request.numBeams = 4
        let beams = try defaults.resolve(request: request, maxPositions: model.maxPositions)
        for (limit, perStep) in [(12, 8), (nil, 0)] as [(Int?, Int)] {
            var batch = DecodingBatch(model: model)
            batch.proposer = everything
            batch.draftRowLimit = limit
            try batch.add([GenerationRequest(id: 0, inputIds: [0, 10, 11, 2], config: beams, draftTokens: 6)])
            _ = batch.step()   // the first step: one row for all beams, no drafts
            XCTAssertEqual(batch.draftStatistics.proposed, 0)
            _ = batch.step()
            XCTAssertEqual(batch.draftStatistics.proposed, perStep, "rows \(String(describing: limit))")
        }
    }

    func testTheSourceLookupProposesWhatFollowsTheLongestSuffixFound() {
        let source = [5, 6, 7, 8, 9, 6, 7, 10, 11, 12, 13]
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 6, 7], source: source, k: 6), [8, 9, 6], "first occurrence of [6, 7], k/2")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 9, 6, 7], source: source, k: 4), [10, 11, 12, 13],
                       "the longer suffix [9, 6, 7] wins, k after 3 tokens")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 9, 6, 7], source: source, k: 8), [10, 11, 12, 13], "the source ends")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 40, 8], source: source, k: 4), [9, 6], "after one token, k/2")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 40, 8], source: source, k: 1), [9], "at least one")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 13], source: source, k: 3), [], "nothing follows the last token")
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 40], source: source, k: 3), [])
        XCTAssertEqual(DraftProposer.sourceLookup(tokens: [2, 5], source: source, k: 0), [])
    }
}
