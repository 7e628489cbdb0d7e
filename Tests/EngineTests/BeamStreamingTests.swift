// A beam search streams the tokens it has settled (BeamSearch.settledPrefix): every sequence it can still
// return begins with them, so what is streamed is always a prefix of transformers' result, it only grows,
// and the rest arrives with the result. Checked step by step on every fixture model's beam settings.

import Foundation
import Generation
import Models
import Tensor
import XCTest

final class BeamStreamingTests: XCTestCase {
    func testTheSettledPrefixIsAlwaysAPrefixOfTheResultAndOnlyGrows() throws {
        var searches = 0, settledEarly = 0, tokens = 0
        for name in Fixtures.generating {
            let folder = Fixtures.folder(name)
            let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: .f32)
            let defaults = try GenerationConfig.model(folder: folder)
            for s in try GenerateSetting.load(name) {
                let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                guard config.numBeams > 1 else { continue }
                var seen = [[Int]](repeating: [], count: s.inputs.count)
                var final = [Bool](repeating: false, count: s.inputs.count)
                let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count),
                                       maxBatchSize: 3, finished: { i, _ in final[i] = true }, afterStep: { batch in
                    for i in s.inputs.indices where !final[i] {
                        guard let p = batch.progress(id: i) else { continue }
                        let want = s.expected[i][0]
                        XCTAssertEqual(Array(want.prefix(p.count)), p, "\(name) \(s.name) input \(i): not a prefix of the result")
                        XCTAssertGreaterThanOrEqual(p.count, max(1, seen[i].count), "\(name) \(s.name) input \(i): the prefix shrank")
                        XCTAssertEqual(Array(p.prefix(seen[i].count)), seen[i], "\(name) \(s.name) input \(i): a settled token changed")
                        seen[i] = p
                    }
                })
                for i in s.inputs.indices {
                    XCTAssertEqual(got[i], s.expected[i], "\(name) \(s.name) input \(i)")
                    searches += 1
                    tokens += s.expected[i][0].count - 1
                    if seen[i].count > 1 { settledEarly += seen[i].count - 1 }
                }
            }
        }
        print("beam streaming: \(searches) searches, \(settledEarly) of \(tokens) generated tokens streamed before their search ended")
        XCTAssertGreaterThan(searches, 20)
        XCTAssertGreaterThan(settledEarly, 0, "no beam search settled a token before it ended")
    }
}
