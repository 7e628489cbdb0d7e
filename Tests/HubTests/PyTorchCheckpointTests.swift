// PyTorch checkpoints (fixtures from scripts/fixtures/hub/make_fixtures.py, torch 2.13 / transformers 5.24):
// values of every dtype and layout torch.save writes, the same model as .safetensors, .bin and sharded .bin
// giving identical weights and identical `generate` ids (those transformers produced), safetensors preferred
// when both exist, and pickles that try to run code refused with nothing run.

import Foundation
import Generation
import Models
import NN
import Tensor
import XCTest

final class PyTorchCheckpointTests: XCTestCase {
    let marker = "/tmp/brevity-pickle-pwned"    // what the malicious fixtures would create

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func testEveryDTypeAndLayoutMatchesTorch() throws {
        let expected = try json(Fixtures.hub.appendingPathComponent("features.json"))
        for file in ["features.bin", "features_p4.bin", "features_zip64.bin"] {
            let ckpt = try PyTorchCheckpoint(path: Fixtures.hub.appendingPathComponent(file).path)
            XCTAssertEqual(Set(ckpt.entries.keys), Set(expected.keys), file)
            XCTAssertNil(ckpt.entries["step"], "non-tensor values are skipped")
            for (name, e) in expected {
                let e = e as! [String: Any]
                let entry = try XCTUnwrap(ckpt.entries[name], "\(file): \(name)")
                XCTAssertEqual(entry.dtypeName, e["dtype"] as? String, "\(file): \(name)")
                XCTAssertEqual(entry.shape, (e["shape"] as! [NSNumber]).map(\.intValue), "\(file): \(name)")
                let values = (e["values"] as! [NSNumber]).map(\.doubleValue)
                switch entry.dtypeName {
                case "F32", "F16", "BF16":
                    let t = try ckpt.load(name, on: CPUBackend.shared)
                    XCTAssertEqual(t.shape, entry.shape)
                    // f16/bf16 widen exactly: the float64 references, rounded to float32, equal the values bit for bit
                    XCTAssertEqual(t.toArray(), values.map(Float.init), "\(file): \(name)")
                default:
                    XCTAssertThrowsError(try ckpt.load(name, on: CPUBackend.shared)) { error in
                        XCTAssertTrue("\(error)".contains(entry.dtypeName), "\(error)")
                    }
                }
            }
            // two keys viewing one storage are recognisable (inspect counts such parameters once)
            XCTAssertEqual(ckpt.entries["base"]!.begin, ckpt.entries["shared"]!.begin)
        }
    }

    func testSafetensorsBinAndShardedBinGiveIdenticalWeightsAndOutputs() throws {
        let st = Fixtures.summarizerTiny
        let bin = try modelFolder(weights: Fixtures.hub.appendingPathComponent("tiny-bin"))
        let sharded = try modelFolder(weights: Fixtures.hub.appendingPathComponent("tiny-bin-sharded"))
        defer { for d in [bin, sharded] { try? FileManager.default.removeItem(at: d) } }

        let reference = try WeightStore(folder: st, backend: CPUBackend.shared)
        for folder in [bin, sharded] {
            let store = try WeightStore(folder: folder, backend: CPUBackend.shared)
            // every tensor of the safetensors file, bit for bit; the .bin also holds the tied copies
            for name in reference.names {
                XCTAssertEqual(try store.tensor(name).toArray(), try reference.tensor(name).toArray(), "\(folder.lastPathComponent): \(name)")
            }
            XCTAssertTrue(store.contains("lm_head.weight"))
            XCTAssertEqual(try store.tensor("lm_head.weight").toArray(), try reference.tensor("model.shared.weight").toArray())
        }
        let expected = try json(Fixtures.hub.appendingPathComponent("expected.json"))
        let cases = expected["cases"] as! [[String: Any]]
        let inputs = cases.map { ($0["input_ids"] as! [NSNumber]).map(\.intValue) }
        let want = cases.map { ($0["ids"] as! [NSNumber]).map(\.intValue) }
        for folder in [st, bin, sharded] {
            let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared)
            let config = try GenerationConfig.model(folder: folder).resolve(maxPositions: model.maxPositions)
            let got = try generate(model: model, inputs: inputs, configs: Array(repeating: config, count: inputs.count),
                                   maxBatchSize: 4).map { $0.first ?? [] }
            XCTAssertEqual(got, want, "\(folder.path): ids differ from transformers' generate")
        }
    }

    func testSafetensorsPreferredWhenBothExist() throws {
        let dir = try modelFolder(weights: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.summarizerTiny.appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        // a pytorch_model.bin that would fail to load: never opened
        try Data("not a checkpoint".utf8).write(to: dir.appendingPathComponent("pytorch_model.bin"))
        XCTAssertNoThrow(try WeightStore(folder: dir, backend: CPUBackend.shared))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try WeightStore(folder: dir, backend: CPUBackend.shared))
    }

    func testMaliciousPicklesAreRefusedAndNothingRuns() throws {
        let cases: [(String, String)] = [
            ("malicious_os_system.bin", "refusing global 'os.system'"),
            ("malicious_eval.bin", "refusing global 'builtins.eval'"),
            ("malicious_stack_global.bin", "refusing global 'posix.system'"),
            ("malicious_nested.bin", "refusing global 'os.system'"),
            ("malicious_inst.bin", "opcode INST is not allowed"),
        ]
        for (file, needle) in cases {
            unlink(marker)
            let url = Fixtures.hub.appendingPathComponent(file)
            XCTAssertThrowsError(try PyTorchCheckpoint(path: url.path), file) { error in
                XCTAssertTrue("\(error)".contains(needle), "\(file): \(error)")
                XCTAssertTrue("\(error)".contains(file), "the error names the file: \(error)")
            }
            // the same through a model folder, as a model load would meet it
            let dir = try modelFolder(weights: nil)
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.copyItem(at: url, to: dir.appendingPathComponent("pytorch_model.bin"))
            XCTAssertThrowsError(try ModelRegistry.load(folder: dir, backend: CPUBackend.shared)) { error in
                XCTAssertTrue("\(error)".contains(needle), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(file): the payload ran")
        }
    }

    func testHostileSizesAndCyclesAreErrorsNotCrashes() throws {
        for (file, needle) in [("hostile_numel.bin", "fewer than its"), ("hostile_shape.bin", "more elements than its storage"),
                               ("hostile_stride.bin", "exceeds its storage"), ("hostile_cycle.bin", "cyclic")] {
            XCTAssertThrowsError(try PyTorchCheckpoint(path: Fixtures.hub.appendingPathComponent(file).path), file) { error in
                XCTAssertTrue("\(error)".contains(needle) && "\(error)".contains(file), "\(file): \(error)")
            }
        }
    }

    func testLegacyFormatIsRefusedWithAdvice() throws {
        XCTAssertThrowsError(try WeightStore(files: [Fixtures.hub.appendingPathComponent("legacy.bin")], backend: CPUBackend.shared)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("legacy") && m.contains("unsupported"), m)
            XCTAssertTrue(m.contains("convert it with") && m.contains("safetensors"), m)
        }
    }

    func testTruncatedAndCorruptCheckpointsAreErrorsNotCrashes() throws {
        let full = try Data(contentsOf: Fixtures.hub.appendingPathComponent("tiny-bin/pytorch_model.bin"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for cut in [10, 100, full.count / 2, full.count - 30] {
            let url = dir.appendingPathComponent("cut\(cut).bin")
            try full.prefix(cut).write(to: url)
            XCTAssertThrowsError(try WeightStore(files: [url], backend: CPUBackend.shared), "cut at \(cut)") { error in
                XCTAssertTrue("\(error)".contains("cut\(cut).bin"), "\(error)")
            }
        }
        // a flipped byte inside data.pkl: an error (or, if the pickle still parses, a load that works)
        var bytes = [UInt8](full)
        for offset in stride(from: 80, to: 600, by: 37) {
            bytes[offset] ^= 0x5A
            let url = dir.appendingPathComponent("flip.bin")
            try Data(bytes).write(to: url)
            if let store = try? WeightStore(files: [url], backend: CPUBackend.shared) { for n in store.names { _ = try? store.tensor(n) } }
            bytes[offset] ^= 0x5A
        }
    }

    /// A zip64 extra field whose declared length runs past its record's extra area (and here past the
    /// file): refused, never read.
    func testZip64ExtraFieldOverrunningItsRecordIsRefused() throws {
        func le(_ v: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let name = Array("archive/data.pkl".utf8), payload: [UInt8] = [0x80, 0x02, 0x4E, 0x2E]   // pickle of None
        var zip = le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
        zip += le(payload.count, 4) + le(payload.count, 4) + le(name.count, 2) + le(0, 2) + name + payload
        let cd = zip.count
        // sizes read 0xFFFFFFFF, so both must come from the zip64 field; it holds 8 bytes but claims 64
        let extra = le(0x0001, 2) + le(64, 2) + le(payload.count, 8)
        zip += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
        zip += le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(name.count, 2) + le(extra.count, 2) + le(0, 2)
        zip += le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + name + extra
        let cdSize = zip.count - cd
        zip += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(1, 2) + le(1, 2) + le(cdSize, 4) + le(cd, 4) + le(0, 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-zip64-extra-\(getpid()).bin")
        try Data(zip).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try PyTorchCheckpoint(path: url.path)) { error in
            XCTAssertTrue("\(error)".contains("extra field of 64 bytes overruns its record"), "\(error)")
        }
    }

    /// Two central-directory records pointing into one local record (tensors aliasing one range, the zip
    /// bomb's overlap trick): refused, as CPython's zipfile refuses them.
    func testZipWithOverlappingRecordsIsRefused() throws {
        func le(_ v: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let name = Array("archive/data.pkl".utf8), payload: [UInt8] = [0x80, 0x02, 0x4E, 0x2E]   // pickle of None
        var zip = le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
        zip += le(payload.count, 4) + le(payload.count, 4) + le(name.count, 2) + le(0, 2) + name + payload
        let cd = zip.count
        for entryName in [name, Array("archive/data/0".utf8)] {   // both at local offset 0
            zip += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
            zip += le(payload.count, 4) + le(payload.count, 4) + le(entryName.count, 2) + le(0, 2) + le(0, 2)
            zip += le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + entryName
        }
        let cdSize = zip.count - cd
        zip += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(2, 2) + le(2, 2) + le(cdSize, 4) + le(cd, 4) + le(0, 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-zip-overlap-\(getpid()).bin")
        try Data(zip).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try PyTorchCheckpoint(path: url.path)) { error in
            XCTAssertTrue("\(error)".contains("overlap"), "\(error)")
        }
    }

    func testUnpicklerRefusesWithoutCalling() throws {
        // GLOBAL of a storage type is fine as a persistent-id argument but never as a call
        let call: [UInt8] = [0x80, 0x02] + Array("ctorch\nFloatStorage\n)R.".utf8)
        XCTAssertThrowsError(try RestrictedUnpickler.load(call, what: "t")) { error in
            XCTAssertTrue("\(error)".contains("calling 'torch.FloatStorage' is not allowed"), "\(error)")
        }
        // stack underflow and missing STOP are errors
        XCTAssertThrowsError(try RestrictedUnpickler.load([0x80, 0x02, 0x2E], what: "t"))
        XCTAssertThrowsError(try RestrictedUnpickler.load([0x80, 0x02, 0x4E], what: "t"))
        // plain values
        let v = try RestrictedUnpickler.load([0x80, 0x02, 0x7D, 0x58, 1, 0, 0, 0, 0x61, 0x4B, 7, 0x73, 0x2E], what: "t")
        XCTAssertEqual(v.description, "{'a': 7}")
    }

    /// A temporary folder with summarizer-tiny's configs and tokenizer, and the files of `weights`.
    func modelFolder(weights: URL?) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.summarizerTiny.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        if let weights {
            for f in try FileManager.default.contentsOfDirectory(atPath: weights.path) {
                try FileManager.default.copyItem(at: weights.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
        }
        return dir
    }
}
