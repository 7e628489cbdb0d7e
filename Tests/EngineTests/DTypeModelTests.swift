// Whole models with their weights held as bf16, f16 and int8 (DTYPE) against the same checkpoint in
// float32: normalized logits error bounded (‖Δ‖₂ / ‖logits‖₂ over every decoder position), float32 by
// DTYPE identical to the default, and a bf16 checkpoint used as bf16 without a float32 detour.

import Foundation
import Generation
import Models
import NN
import Tensor
import XCTest

final class DTypeModelTests: XCTestCase {
    /// Logits at every position of a fixed decoder prefix, all inputs of the fixture together.
    static func logits(_ model: any Seq2SeqModel, inputs: [[Int]]) -> [Float] {
        let encoded = model.encode(inputs)
        var caches = inputs.map { _ in model.makeCache(capacity: 8) }
        let prefix = inputs.map { [2, 0] + Array($0.dropFirst().prefix(4)) }
        return model.decode(prefix, caches: &caches, encoded: encoded, allPositions: true).toArray()
    }

    static func normalizedError(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); num += d * d; den += Double(a[i]) * Double(a[i]) }
        return (num / den).squareRoot()
    }

    /// Bounds with margin over what was measured on these random tiny models (d_model 16-32, weights
    /// N(0, 0.02)-ish, printed by the test): bf16 keeps 8 mantissa bits (relative rounding 2^-9), f16 11,
    /// int8 per-row 7 bits of the row's largest magnitude.
    static let bounds: [DType: Double] = [.f32: 0, .f16: 1.5e-3, .bf16: 8e-3, .int8: 2.5e-2]

    func testLogitsInEveryWeightTypeStayCloseToFloat32() throws {
        let inputs = [[0, 20, 30, 40, 50, 2], [0, 7, 8, 9, 10, 11, 12, 13, 2]]
        for name in Fixtures.models {
            let folder = Fixtures.folder(name)
            let reference = Self.logits(try ModelRegistry.load(folder: folder, backend: CPUBackend.shared), inputs: inputs)
            for type in DType.allCases {
                let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: type)
                let e = Self.normalizedError(reference, Self.logits(model, inputs: inputs))
                print("\(name) \(type.userName): normalized logits error \(String(format: "%.2e", e))")
                XCTAssertLessThanOrEqual(e, Self.bounds[type]!, "\(name) \(type)")
                if type != .f32 { XCTAssertGreaterThan(e, 0, "\(name) \(type): weights were not converted") }
            }
        }
    }

    /// Share of transformers' float32 `generate` sequences (every recorded setting x input) reproduced with
    /// reduced-precision weights. Measured and printed; bounded below with margin.
    static let sameShare: [DType: Double] = [.f16: 0.95, .bf16: 0.75, .int8: 0.6]

    func testGenerationsInReducedPrecisionMostlyEqualFloat32() throws {
        for name in Fixtures.models {
            let folder = Fixtures.folder(name)
            let defaults = try GenerationConfig.model(folder: folder)
            for type in [DType.f16, .bf16, .int8] {
                let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: type)
                var same = 0, total = 0
                for s in try GenerateSetting.load(name) {
                    let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                    let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count))
                    for i in s.inputs.indices { total += 1; if got[i] == s.expected[i] { same += 1 } }
                }
                print("\(name) \(type.userName): \(same)/\(total) generations identical to transformers float32")
                XCTAssertGreaterThanOrEqual(Double(same) / Double(total), Self.sameShare[type]!, "\(name) \(type)")
            }
        }
    }

    func testBFloat16CheckpointLoadsAsBFloat16InPlace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-bf16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = Fixtures.bart.appendingPathComponent("bart-tiny")
        let store = try WeightStore(folder: src, backend: CPUBackend.shared)
        try writeSafetensors(try store.names.map { name in
            let t = try store.tensor(name)
            return (name: name, shape: t.shape, values: t.toArray(), dtype: DType.bf16)
        }, to: dir.appendingPathComponent("model.safetensors"))
        let half = try WeightStore(folder: dir, backend: CPUBackend.shared, weightType: .bf16)
        let widened = try WeightStore(folder: dir, backend: CPUBackend.shared)
        let name = "model.encoder.layers.0.fc1.weight"
        let shape = half.shape(of: name)!
        let m = try half.matrix(name, shape: shape)
        XCTAssertEqual(m.dtype, .bf16)
        XCTAssertEqual(m.toArray(), try widened.tensor(name).toArray())
        // the same bytes as the file's: a second lookup maps the same address (nothing was copied)
        XCTAssertEqual(m.storage.pointer, try half.matrix(name, shape: shape).storage.pointer)
        // norms and biases stay float32
        XCTAssertEqual(try half.tensor("model.encoder.layers.0.fc1.bias").dtype, .f32)
    }
}
