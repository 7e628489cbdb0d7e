// `generate` outputs against transformers 5.24: identical ids for every recorded setting x 10 inputs
// (greedy and beam; every logits processor; early_stopping true/false/"never"; num_return_sequences;
// max/min_new_tokens), each input alone, all together (a batch), and with continuous batching (requests
// joining between decoder steps). Defaults come from each model's generation_config.json or config.json.

import Foundation
import Generation
import Models
import Tensor
import XCTest

final class GenerationTests: XCTestCase {
    typealias Setting = GenerateSetting

    func settings(_ name: String) throws -> [Setting] { try GenerateSetting.load(name) }

    func run(_ name: String, maxBatchSize: (Setting) -> Int) throws {
        let folder = Fixtures.folder(name)
        let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared)
        let defaults = try GenerationConfig.model(folder: folder)
        var mismatches = 0, checked = 0
        for s in try settings(name) {
            let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
            let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count),
                                   maxBatchSize: maxBatchSize(s))
            for i in s.inputs.indices {
                checked += 1
                if got[i] != s.expected[i] {
                    mismatches += 1
                    XCTFail("\(name) \(s.name) input \(i): got \(got[i]) expected \(s.expected[i])")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 100)
        print("\(name): \(checked - mismatches)/\(checked) generations identical to transformers")
    }

    func testEachInputAlone() throws {
        for name in Fixtures.models { try run(name, maxBatchSize: { _ in 1 }) }
    }

    func testAllInputsInOneBatch() throws {
        for name in Fixtures.models { try run(name, maxBatchSize: { $0.inputs.count }) }
    }

    func testContinuousBatching() throws {
        // 3 at a time: requests join as others finish, at different decoder steps
        for name in Fixtures.models { try run(name, maxBatchSize: { _ in 3 }) }
    }

    func testMixedSettingsInOneBatch() throws {
        // different settings (greedy and beams of several widths) decoding together
        let name = "bart-tiny"
        let folder = Fixtures.bart.appendingPathComponent(name)
        let model = try BartForConditionalGeneration(folder: folder, backend: CPUBackend.shared)
        let defaults = try GenerationConfig.model(folder: folder)
        var inputs: [[Int]] = [], configs: [ResolvedGeneration] = [], expected: [[[Int]]] = []
        for s in try settings(name) {
            let c = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
            for i in 0..<3 { inputs.append(s.inputs[i]); configs.append(c); expected.append(s.expected[i]) }
        }
        let got = try generate(model: model, inputs: inputs, configs: configs, maxBatchSize: 7)
        for i in inputs.indices { XCTAssertEqual(got[i], expected[i], "request \(i)") }
    }

    func testDroppingARequestLeavesOthersUnchanged() throws {
        let folder = Fixtures.bart.appendingPathComponent("distilbart-tiny")
        let model = try BartForConditionalGeneration(folder: folder, backend: CPUBackend.shared)
        let s = try settings("distilbart-tiny").first { $0.name == "beam4_early_true" }!
        let config = try GenerationConfig.model(folder: folder)
            .resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
        var batch = DecodingBatch(model: model)
        try batch.add(s.inputs.prefix(4).enumerated().map { GenerationRequest(id: $0, inputIds: $1, config: config) })
        var results: [Int: [[Int]]] = [:]
        _ = batch.step()
        batch.drop(id: 1)
        while !batch.isEmpty { for r in batch.step() { results[r.id] = r.sequences } }
        XCTAssertNil(results[1])
        for i in [0, 2, 3] { XCTAssertEqual(results[i], s.expected[i]) }
    }

    func testSamplingIsSeeded() throws {
        let folder = Fixtures.bart.appendingPathComponent("bart-tiny")
        let model = try BartForConditionalGeneration(folder: folder, backend: CPUBackend.shared)
        func sample(_ seed: UInt64) throws -> [[Int]] {
            var req = GenerationConfig()
            req.doSample = true; req.numBeams = 1; req.seed = seed; req.topK = 20; req.topP = 0.9; req.temperature = 1.3
            let c = try GenerationConfig.model(folder: folder).resolve(request: req, maxPositions: model.maxPositions)
            return try generate(model: model, inputs: [[0, 10, 11, 12, 2]], configs: [c])[0]
        }
        XCTAssertEqual(try sample(7), try sample(7))
        let distinct = Set(try (0..<6).map { try sample($0) })
        XCTAssertGreaterThan(distinct.count, 1, "different seeds should give different samples")
    }
}
