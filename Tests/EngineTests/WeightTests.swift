// safetensors loading: f16/bf16 widened to float32, sharded checkpoints, tied weights absent, and every
// malformed file an error naming the problem (never a crash).

import Foundation
import Models
import NN
import Tensor
import XCTest

final class WeightTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testHalfAndBFloat16AreWidened() throws {
        let values: [Float] = [0, 1, -2.5, 0.1, 65504, -1e-7, 3.14159]
        let url = dir.appendingPathComponent("w.safetensors")
        try writeSafetensors([("a", [7], values, .f32), ("b", [7], values, .f16), ("c", [7], values, .bf16)], to: url)
        let store = try WeightStore(files: [url], backend: CPUBackend.shared)
        XCTAssertEqual(try store.tensor("a").toArray(), values)
        let f16 = try store.tensor("b").toArray(), bf16 = try store.tensor("c").toArray()
        for (i, v) in values.enumerated() {
            XCTAssertEqual(f16[i], v, accuracy: max(abs(v) * 1e-3, 1e-7))
            XCTAssertEqual(bf16[i], v, accuracy: abs(v) * 8e-3)
        }
    }

    func testModelInHalfPrecisionIsCloseToFloat32() throws {
        // the bart-tiny checkpoint rewritten in bf16: loads and gives nearly the same logits
        let src = Fixtures.bart.appendingPathComponent("bart-tiny")
        let store = try WeightStore(folder: src, backend: CPUBackend.shared)
        let tensors = try store.names.map { name -> (String, [Int], [Float], DType) in
            let t = try store.tensor(name)
            return (name, t.shape, t.toArray(), .bf16)
        }
        try writeSafetensors(tensors.map { (name: $0.0, shape: $0.1, values: $0.2, dtype: $0.3) },
                             to: dir.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let full = try BartForConditionalGeneration(folder: src, backend: CPUBackend.shared), half = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared)
        let input = [0, 20, 30, 40, 2]
        var c1 = [full.makeCache(capacity: 4)], c2 = [half.makeCache(capacity: 4)]
        let a = full.decode([[2, 0, 50]], caches: &c1, encoded: full.encode([input]), allPositions: true).toArray()
        let b = half.decode([[2, 0, 50]], caches: &c2, encoded: half.encode([input]), allPositions: true).toArray()
        let d = maxAbsDiff(a, b)
        XCTAssertGreaterThan(d, 0)
        XCTAssertLessThan(d, 0.5)
    }

    func testShardedCheckpointLoadsLikeSingleFile() throws {
        let src = Fixtures.bart.appendingPathComponent("distilbart-tiny")
        let store = try WeightStore(folder: src, backend: CPUBackend.shared)
        let names = store.names
        var map: [String: String] = [:]
        var shards: [[(name: String, shape: [Int], values: [Float], dtype: DType)]] = [[], [], []]
        for (i, n) in names.enumerated() {
            let t = try store.tensor(n)
            shards[i % 3].append((n, t.shape, t.toArray(), .f32))
            map[n] = "model-0000\(i % 3 + 1)-of-00003.safetensors"
        }
        for (i, s) in shards.enumerated() {
            try writeSafetensors(s, to: dir.appendingPathComponent("model-0000\(i + 1)-of-00003.safetensors"))
        }
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let a = try BartForConditionalGeneration(folder: src, backend: CPUBackend.shared), b = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared)
        XCTAssertEqual(a.encode([[0, 5, 6, 2]])[0].hidden.toArray(), b.encode([[0, 5, 6, 2]])[0].hidden.toArray())
    }

    func testTiedWeightsMayBeStoredUnderAnyName() throws {
        // only the decoder's copy of the embedding present (no model.shared.weight, no lm_head)
        let src = Fixtures.bart.appendingPathComponent("bart-tiny")
        let store = try WeightStore(folder: src, backend: CPUBackend.shared)
        let tensors = try store.names.map { n -> (name: String, shape: [Int], values: [Float], dtype: DType) in
            let t = try store.tensor(n)
            return (n == "model.shared.weight" ? "model.decoder.embed_tokens.weight" : n, t.shape, t.toArray(), .f32)
        }
        try writeSafetensors(tensors, to: dir.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let a = try BartForConditionalGeneration(folder: src, backend: CPUBackend.shared), b = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared)
        XCTAssertEqual(a.encode([[0, 5, 6, 2]])[0].hidden.toArray(), b.encode([[0, 5, 6, 2]])[0].hidden.toArray())
    }

    func expectError(_ body: () throws -> Void, containing: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an error mentioning '\(containing)'", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(containing), "error '\(error)' should mention '\(containing)'", file: file, line: line)
        }
    }

    func testMalformedFilesAreErrorsNamingTheProblem() throws {
        let good = dir.appendingPathComponent("good.safetensors")
        try writeSafetensors([("layer.weight", [4, 4], [Float](repeating: 1, count: 16), .f32)], to: good)
        let bytes = try Data(contentsOf: good)

        // truncated data section: the tensor's offsets run past the end
        let truncated = dir.appendingPathComponent("truncated.safetensors")
        try bytes.prefix(bytes.count - 8).write(to: truncated)
        expectError({ _ = try SafetensorsFile(path: truncated.path) }, containing: "layer.weight")

        // header size larger than the file
        var huge = bytes
        huge.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Data($0) })
        let hugeURL = dir.appendingPathComponent("huge.safetensors")
        try huge.write(to: hugeURL)
        expectError({ _ = try SafetensorsFile(path: hugeURL.path) }, containing: "header")

        // garbage header
        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try (withUnsafeBytes(of: UInt64(4).littleEndian) { Data($0) } + Data("{{{{".utf8)).write(to: garbage)
        expectError({ _ = try SafetensorsFile(path: garbage.path) }, containing: "JSON")

        // tiny file
        let tiny = dir.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: tiny)
        expectError({ _ = try SafetensorsFile(path: tiny.path) }, containing: "tiny.safetensors")

        // shape disagreeing with the byte range
        let lying = dir.appendingPathComponent("lying.safetensors")
        let header = #"{"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,16]}}"#
        try (withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) } + Data(header.utf8) + Data(count: 16))
            .write(to: lying)
        expectError({ _ = try SafetensorsFile(path: lying.path) }, containing: "'w'")

        // element count x element size past 2^63: 2^61 F64 elements wrap to 0 bytes, which offsets [0, 0]
        // would match if the product were not checked (a release build removes Swift's overflow trap)
        let wraps = dir.appendingPathComponent("wraps.safetensors")
        let h3 = #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}"#
        try (withUnsafeBytes(of: UInt64(h3.utf8.count).littleEndian) { Data($0) } + Data(h3.utf8)).write(to: wraps)
        expectError({ _ = try SafetensorsFile(path: wraps.path) }, containing: "overflows")

        // a header claiming 2^60 bytes, and a tensor claiming bytes up to 2^60: refused before any read
        let hugeHeader = dir.appendingPathComponent("huge-header.safetensors")
        try (withUnsafeBytes(of: (UInt64(1) << 60).littleEndian) { Data($0) } + Data("{}".utf8)).write(to: hugeHeader)
        expectError({ _ = try SafetensorsFile(path: hugeHeader.path) }, containing: "header of 1152921504606846976 bytes")
        let far = dir.appendingPathComponent("far.safetensors")
        let h4 = #"{"w":{"dtype":"U8","shape":[1152921504606846976],"data_offsets":[0,1152921504606846976]}}"#
        try (withUnsafeBytes(of: UInt64(h4.utf8.count).littleEndian) { Data($0) } + Data(h4.utf8) + Data(count: 8)).write(to: far)
        expectError({ _ = try SafetensorsFile(path: far.path) }, containing: "'w'")

        // unsupported dtype: named when the tensor is loaded
        let ints = dir.appendingPathComponent("ints.safetensors")
        let h2 = #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#
        try (withUnsafeBytes(of: UInt64(h2.utf8.count).littleEndian) { Data($0) } + Data(h2.utf8) + Data(count: 16)).write(to: ints)
        let store = try WeightStore(files: [ints], backend: CPUBackend.shared)
        expectError({ _ = try store.tensor("ids") }, containing: "I64")

        // missing tensor and shape mismatch
        let s = try WeightStore(files: [good], backend: CPUBackend.shared)
        expectError({ _ = try s.tensor("nope.weight") }, containing: "nope.weight")
        expectError({ _ = try s.tensor("layer.weight", shape: [4, 5]) }, containing: "layer.weight")
    }

    func testModelFolderProblemsAreErrors() throws {
        expectError({ _ = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared) }, containing: "config.json")
        let src = Fixtures.bart.appendingPathComponent("bart-tiny")
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        expectError({ _ = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared) }, containing: "model.safetensors")
        // a checkpoint lacking one layer's weight
        let store = try WeightStore(folder: src, backend: CPUBackend.shared)
        let tensors = try store.names.filter { $0 != "model.decoder.layers.1.fc2.bias" }.map { n in
            let t = try store.tensor(n)
            return (name: n, shape: t.shape, values: t.toArray(), dtype: DType.f32)
        }
        try writeSafetensors(tensors, to: dir.appendingPathComponent("model.safetensors"))
        expectError({ _ = try BartForConditionalGeneration(folder: dir, backend: CPUBackend.shared) }, containing: "model.decoder.layers.1.fc2.bias")
        expectError({ _ = try ModelRegistry.load(folder: dir, backend: CPUBackend.shared) }, containing: "model.decoder.layers.1.fc2.bias")
    }
}
