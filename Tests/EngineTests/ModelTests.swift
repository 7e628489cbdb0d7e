// BART, mBART, Pegasus, T5 and FLAN-T5 forward passes against transformers (float32): encoder outputs and decoder logits within
// 1e-4 max-abs (the bar of docs/architecture.md §3; the reference is transformers 5.24 on the CPU, see
// scripts/fixtures/bart/make_fixtures.py); incremental decoding equals full recomputation; a batch equals
// each input alone.

import Foundation
import Models
import Tensor
import XCTest

final class ModelTests: XCTestCase {
    func load(_ name: String) throws -> any Seq2SeqModel {
        try ModelRegistry.load(folder: Fixtures.folder(name), backend: CPUBackend.shared)
    }

    func referenceCases(_ name: String) throws -> [[String: Any]] {
        try Fixtures.json(Fixtures.folder(name).appendingPathComponent("reference.json"))["cases"]
            as! [[String: Any]]
    }

    func testEncoderOutputsMatchTransformers() throws {
        for name in Fixtures.models {
            let model = try load(name)
            var worst: Float = 0
            for (i, c) in try referenceCases(name).enumerated() {
                let enc = model.encode([ints(c["input_ids"])])[0]
                XCTAssertEqual(enc.hidden.shape, ints(c["encoder_shape"]))
                worst = max(worst, assertClose(enc.hidden.toArray(), floats(c["encoder_output"]), tolerance: 1e-4,
                                               "\(name) encoder #\(i)"))
            }
            print("\(name): encoder max |diff| vs transformers \(worst)")
        }
    }

    func testFullSequenceLogitsMatchTransformers() throws {
        for name in Fixtures.models {
            let model = try load(name)
            var worst: Float = 0
            for (i, c) in try referenceCases(name).enumerated() {
                let enc = model.encode([ints(c["input_ids"])])
                var caches = [model.makeCache(capacity: 4)]
                let logits = model.decode([ints(c["decoder_input_ids"])], caches: &caches, encoded: enc, allPositions: true)
                XCTAssertEqual(logits.shape, ints(c["logits_shape"]))
                worst = max(worst, assertClose(logits.toArray(), floats(c["logits"]), tolerance: 1e-4, "\(name) logits #\(i)"))
            }
            print("\(name): logits max |diff| vs transformers \(worst)")
        }
    }

    func testIncrementalDecodingEqualsFullRecomputation() throws {
        for name in Fixtures.models {
            let model = try load(name)
            for (i, c) in try referenceCases(name).enumerated() {
                let enc = model.encode([ints(c["input_ids"])])
                let dec = ints(c["decoder_input_ids"])
                var full = [model.makeCache(capacity: dec.count)]
                let all = model.decode([dec], caches: &full, encoded: enc, allPositions: true).toArray()
                // one token at a time, from a cache that has to grow
                var caches = [model.makeCache(capacity: 1)]
                var steps: [Float] = []
                for t in dec { steps += model.decode([[t]], caches: &caches, encoded: enc, allPositions: false).toArray() }
                assertClose(steps, all, tolerance: 1e-5, "\(name) incremental vs full #\(i)")
                // and in two chunks
                var chunked = [model.makeCache(capacity: dec.count)]
                let a = model.decode([Array(dec[..<3])], caches: &chunked, encoded: enc, allPositions: true).toArray()
                let b = model.decode([Array(dec[3...])], caches: &chunked, encoded: enc, allPositions: true).toArray()
                assertClose(a + b, all, tolerance: 1e-5, "\(name) chunked vs full #\(i)")
                XCTAssertEqual(caches[0].length, dec.count)
            }
        }
    }

    func testBatchEqualsAlone() throws {
        for name in Fixtures.models {
            let model = try load(name)
            let cases = try referenceCases(name)
            let inputs = cases.map { ints($0["input_ids"]) }
            let decs = cases.map { ints($0["decoder_input_ids"]) }
            let together = model.encode(inputs)
            for (i, input) in inputs.enumerated() {
                let alone = model.encode([input])[0]
                assertClose(together[i].hidden.toArray(), alone.hidden.toArray(), tolerance: 1e-5, "\(name) encoder batch #\(i)")
            }
            // decoder rows of different lengths in one call
            var caches = decs.map { _ in model.makeCache(capacity: 8) }
            let prefix = decs.enumerated().map { Array($1.prefix(2 + $0)) }
            _ = model.decode(prefix, caches: &caches, encoded: together, allPositions: false)
            let next = decs.enumerated().map { [$1[2 + $0]] }
            let batched = model.decode(next, caches: &caches, encoded: together, allPositions: false).toArray()
            let v = model.vocabularySize
            for i in decs.indices {
                var alone = [model.makeCache(capacity: 8)]
                let all = model.decode([Array(decs[i].prefix(3 + i))], caches: &alone, encoded: [together[i]],
                                       allPositions: false).toArray()
                assertClose(Array(batched[i * v..<(i + 1) * v]), all, tolerance: 1e-5, "\(name) decoder batch row \(i)")
            }
        }
    }
}
