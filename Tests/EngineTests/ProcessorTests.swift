// Each logits processor against transformers 5.24 on crafted scores (Tests/Fixtures/bart/processors.json).

import Foundation
import Generation
import XCTest

final class ProcessorTests: XCTestCase {
    func processor(_ name: String, _ p: [String: Any]) -> LogitsProcessorList {
        func i(_ k: String) -> Int { (p[k] as! NSNumber).intValue }
        func f(_ k: String) -> Float { (p[k] as! NSNumber).floatValue }
        let keep = p["min_tokens_to_keep"].map { ($0 as! NSNumber).intValue } ?? 1
        switch name {
        case let n where n.hasPrefix("repetition_penalty"): return LogitsProcessorList([RepetitionPenalty(f("repetition_penalty"))])
        case let n where n.hasPrefix("no_repeat_ngram"): return LogitsProcessorList([NoRepeatNGram(i("no_repeat_ngram_size"))])
        case let n where n.hasPrefix("min_length"): return LogitsProcessorList([MinLength(i("min_length"), eos: [i("eos_token_id")])])
        case let n where n.hasPrefix("min_new_tokens"):
            return LogitsProcessorList([MinNewTokens(promptLength: i("prompt_length"), minNewTokens: i("min_new_tokens"),
                                                     eos: [i("eos_token_id")])])
        case let n where n.hasPrefix("forced_bos"): return LogitsProcessorList([ForcedBOS(i("forced_bos_token_id"))])
        case let n where n.hasPrefix("forced_eos"):
            return LogitsProcessorList([ForcedEOS(maxLength: i("max_length"), eos: [i("forced_eos_token_id")])])
        case "temperature": return LogitsProcessorList([Temperature(f("temperature"))])
        case let n where n.hasPrefix("top_k"): return LogitsProcessorList([TopK(i("top_k"), minTokensToKeep: keep)])
        case let n where n.hasPrefix("top_p"): return LogitsProcessorList([TopP(f("top_p"), minTokensToKeep: keep)])
        case "chain_on_log_probs":
            // the list `generate` builds for these parameters, in transformers' order
            var c = ResolvedGeneration()
            c.repetitionPenalty = f("repetition_penalty"); c.noRepeatNgramSize = i("no_repeat_ngram_size")
            c.minLength = i("min_length"); c.maxLength = i("max_length")
            c.forcedEosTokenIds = [i("forced_eos_token_id")]; c.eosTokenIds = [i("eos_token_id")]
            let list = LogitsProcessorList(c)
            XCTAssertEqual(list.processors.count, 4)
            return list
        default:
            XCTFail("no processor for fixture \(name)")
            return LogitsProcessorList([])
        }
    }

    func testProcessorsMatchTransformers() throws {
        let j = try Fixtures.json(Fixtures.bart.appendingPathComponent("processors.json"))
        let cases = j["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for c in cases {
            let name = c["name"] as! String
            let list = processor(name, c["params"] as! [String: Any])
            let ids = (c["input_ids"] as! [Any]).map(ints)
            let scores = (c["scores"] as! [Any]).map(floats)
            let expected = (c["expected"] as! [Any]).map(floats)
            for r in ids.indices {
                var row = scores[r]
                row.withUnsafeMutableBufferPointer { list.process($0, sequence: ids[r]) }
                assertClose(row, expected[r], tolerance: 1e-6, "\(name) row \(r)")
            }
        }
    }
}
