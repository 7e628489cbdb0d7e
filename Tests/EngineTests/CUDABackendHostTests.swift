// The CUDA backend's host side without a GPU: kernel parameters as the driver reads them, the
// row-major product mapped onto cuBLAS's column-major GEMM (run here by a plain column-major loop), the
// start-up self-test's comparison (it passes a correct backend and names the op of a broken one), the
// cuBLAS loader's errors; and the whole backend (every op, then BART generation) over a host emulator of
// the kernels and cuBLAS (CUDAEmulator.swift), with every launch checked against the CUDA source's
// parameter lists.

import Foundation
import Generation
import Models
import NN
@testable import Tensor
import TestSupport
import XCTest

final class CUDABackendHostTests: XCTestCase {
    func testKernelParametersAreSlotsTheDriverReadsWithTheirCTypes() {
        let args = KernelArguments([.pointer(0x7f00_1234_5678), .int32(-1), .float(1.5), .int64(-2), .int32(50264)])
        XCTAssertEqual(args.slots, [0x7f00_1234_5678, 0xFFFF_FFFF, UInt64(Float(1.5).bitPattern), UInt64(bitPattern: -2), 50264])
        args.withParameters { params in
            let p = params!
            XCTAssertEqual(p[0]!.load(as: UInt64.self), 0x7f00_1234_5678)
            XCTAssertEqual(p[1]!.load(as: Int32.self), -1)               // an `int` reads 4 bytes
            XCTAssertEqual(p[2]!.load(as: Float.self), 1.5)
            XCTAssertEqual(p[3]!.load(as: Int64.self), -2)               // a `long` reads 8
            XCTAssertEqual(p[4]!.load(as: Int32.self), 50264)
            XCTAssertEqual(Set((0..<5).map { UInt(bitPattern: p[$0]) }).count, 5, "each parameter its own slot")
        }
    }

    /// cuBLAS's C = op(A) · op(B), column-major with leading dimensions, as a loop.
    func columnMajorGemm(_ plan: GemmPlan, a: [Float], b: [Float]) -> [Float] {
        var c = [Float](repeating: 0, count: plan.ldc * plan.n)
        for j in 0..<plan.n {
            for i in 0..<plan.m {
                var s: Float = 0
                for l in 0..<plan.k {
                    let av = plan.transposeA ? a[l + i * plan.lda] : a[i + l * plan.lda]
                    let bv = plan.transposeB ? b[j + l * plan.ldb] : b[l + j * plan.ldb]
                    s += av * bv
                }
                c[i + j * plan.ldc] = s
            }
        }
        return c
    }

    func testRowMajorLinearMapsOntoColumnMajorGemm() {
        let cpu = CPUBackend.shared
        for (rows, inputs, outputs) in [(1, 7, 5), (3, 16, 9), (13, 33, 2), (4, 1, 6)] {
            let x = (0..<rows * inputs).map { Float(($0 * 7) % 11) - 5 }
            let w = (0..<outputs * inputs).map { Float(($0 * 5) % 13) - 6 }
            let plan = GemmPlan(rows: rows, inputs: inputs, outputs: outputs)
            XCTAssertTrue(plan.fitsInt32)
            let y = columnMajorGemm(plan, a: w, b: x)   // A = the weight, B = the activations
            let expected = Tensor(x, shape: [rows, inputs], on: cpu).linear(Tensor(w, shape: [outputs, inputs], on: cpu), bias: nil).toArray()
            XCTAssertEqual(y, expected, "\(rows)x\(inputs)x\(outputs)")
        }
        XCTAssertFalse(GemmPlan(rows: 1 << 31, inputs: 8, outputs: 8).fitsInt32)
    }

    /// Forwards to the CPU backend, with one op made wrong.
    final class Faulty: Backend, @unchecked Sendable {
        let cpu = CPUBackend.shared
        let broken: String
        init(broken: String) { self.broken = broken }
        var name: String { "faulty" }
        func allocate(count: Int, zeroed: Bool) -> TensorStorage { cpu.allocate(count: count, zeroed: zeroed) }
        func upload(_ values: UnsafeBufferPointer<Float>) -> TensorStorage { cpu.upload(values) }
        func download(_ tensor: Tensor) -> [Float] { cpu.download(tensor) }
        func heldType(_ requested: DType) -> DType { requested }
        func weight(from source: UnsafeRawPointer, type: DType, rows: Int, columns: Int, as target: DType, owner: AnyObject) -> TensorStorage {
            cpu.weight(from: source, type: type, rows: rows, columns: columns, as: target, owner: owner)
        }
        func copy(_ storage: TensorStorage, count: Int) -> TensorStorage { cpu.copy(storage, count: count) }
        func copyRows(from source: Tensor, row: Int, into destination: TensorStorage, row r: Int, rows: Int, width: Int) {
            cpu.copyRows(from: source, row: row, into: destination, row: r, rows: rows, width: width)
        }
        func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
            // a kernel that forgets the bias
            cpu.linear(x, weight: weight, bias: broken == "bias" ? nil : bias)
        }
        func add(_ a: Tensor, _ b: Tensor) -> Tensor { cpu.add(a, b) }
        func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { cpu.multiply(a, b) }
        func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
            // a norm that subtracts the mean (LayerNorm without a bias)
            broken == "rms" ? cpu.layerNorm(x, weight: weight, bias: Tensor.zeros(weight.shape, on: cpu), eps: eps)
                : cpu.rmsNorm(x, weight: weight, eps: eps)
        }
        func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
            cpu.layerNorm(x, weight: weight, bias: bias, eps: broken == "eps" ? eps * 1e5 : eps)
        }
        func activation(_ x: Tensor, _ kind: Activation) -> Tensor { cpu.activation(x, broken == "gelu" && kind == .gelu ? .geluTanh : kind) }
        func embedding(_ ids: [Int], table: Tensor, scale: Float) -> Tensor { cpu.embedding(ids, table: table, scale: scale) }
        func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor { cpu.gatherRows(x, rows: rows) }
        func logSoftmax(_ x: Tensor) -> Tensor { cpu.logSoftmax(x) }
        func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int, scale: Float,
                       bias: RelativePositionBias?) -> Tensor {
            // a kernel that lets decoder rows see the future, or one that reads the bias mirrored
            let s = broken == "causal" ? spans.map { var t = $0; t.causal = false; return t } : spans
            let b = broken == "mirror" ? bias.map { b in
                let t = b.table.toArray(), w = b.table.columns
                return RelativePositionBias(table: Tensor((0..<t.count).map { t[($0 / w) * w + w - 1 - $0 % w] }, shape: b.table.shape, on: cpu),
                                            radius: b.radius)
            } : bias
            return cpu.attention(query: query, keys: keys, values: values, spans: s, heads: heads, scale: scale, bias: b)
        }
    }

    func testSelfTestPassesACorrectBackendAndNamesTheOpOfABrokenOne() throws {
        // the CPU against itself: every op, equal
        let results = try BackendSelfTest(type: .f32).run(CPUBackend(tier: .portable))
        XCTAssertGreaterThanOrEqual(results.count, 20)
        for r in results { XCTAssertLessThanOrEqual(r.error, 1e-6, r.op) }
        // inputs rounded to bf16 for a bf16 candidate: the comparison is of arithmetic, not of rounding
        XCTAssertNoThrow(try BackendSelfTest(type: .bf16).run(CPUBackend.shared))
        for (broken, op) in [("bias", "linear 1x64x48"), ("eps", "layerNorm"), ("gelu", "activation gelu"), ("causal", "attention (decoder)"),
                              ("rms", "rmsNorm"), ("mirror", "attention (encoder, relative bias)")] {
            XCTAssertThrowsError(try BackendSelfTest(type: .f32).run(Faulty(broken: broken)), broken) { error in
                XCTAssertEqual((error as? BackendSelfTest.Mismatch)?.op, op, "\(error)")
            }
        }
        // half precision's tolerance still catches a real fault
        XCTAssertThrowsError(try BackendSelfTest(type: .f16).run(Faulty(broken: "causal")))
    }

    func testMissingCUBLASIsAnErrorNamingWhatWasTried() {
        XCTAssertThrowsError(try CUDAStream.loadCUBLAS(path: "/nonexistent/libcublas.so.13")) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("cuBLAS") && m.contains("/nonexistent/libcublas.so.13"), m)
        }
        if (try? CUDAStream.loadCUBLAS(path: nil)) == nil {
            XCTAssertThrowsError(try CUDAStream.loadCUBLAS(path: nil)) { XCTAssertTrue("\($0)".contains("libcublas.so.12"), "\($0)") }
        }
    }

    func testKernelSignaturesAreReadFromTheCUDASource() {
        let sig = CUDAKernelSource.signatures
        XCTAssertEqual(Set(sig.keys), Set(CUDAKernelSource.kernels))
        XCTAssertEqual(sig["embed"], [.pointer, .pointer, .float, .pointer, .pointer, .pointer, .int32])
        XCTAssertEqual(sig["add"], [.pointer, .pointer, .pointer, .int64])
        XCTAssertEqual(sig["attention"], [.pointer, .pointer, .pointer, .pointer, .pointer, .pointer, .int32, .int32, .float, .pointer, .int32])
        XCTAssertEqual(sig["rms_norm"], [.pointer, .pointer, .pointer, .int32, .float])
        XCTAssertNil(KernelArguments([.pointer(1), .pointer(2), .pointer(3), .int64(4)]).check(against: "add_bf16"))
        XCTAssertNotNil(KernelArguments([.pointer(1), .pointer(2), .pointer(3), .int32(4)]).check(against: "add_f16"), "int for long")
        XCTAssertNotNil(KernelArguments([]).check(against: "nonexistent_f32"))
    }

    func testEmulatedBackendPassesTheSelfTestInEveryType() throws {
        for type in [DType.f32, .f16, .bf16] {
            let gpu = try CUDAEmulator()
            let backend = try CUDABackend(stream: gpu, dtype: type)
            let results = try BackendSelfTest(type: type).run(backend)
            XCTAssertTrue(results.allSatisfy { $0.error.isFinite }, "\(type)")
            XCTAssertGreaterThan(gpu.launches.count, 5)
        }
        let gpu = try CUDAEmulator()
        XCTAssertThrowsError(try CUDABackend(stream: gpu, dtype: .int8)) { XCTAssertTrue("\($0)".contains("CPU only"), "\($0)") }
    }

    /// A GPU holds every tensor in its one type, and a model's weights say so: the store asks the backend
    /// what it holds (`heldType`) rather than assuming the CPU's float32 vectors.
    func testTheGPUHoldsEveryWeightInItsOneType() throws {
        for type in [DType.f16, .bf16] {
            let backend = try CUDABackend(stream: CUDAEmulator(), dtype: type)
            XCTAssertEqual([DType.f32, .f16, .bf16, .int8].map(backend.heldType), Array(repeating: type, count: 4))
            let store = try WeightStore(folder: Fixtures.folder("bart-tiny"), backend: backend, weightType: type)
            let matrix = try store.root.matrix("model.shared.weight", shape: try XCTUnwrap(store.shape(of: "model.shared.weight")))
            let vector = try store.root.tensor("model.encoder.layernorm_embedding.weight")
            XCTAssertEqual(matrix.dtype, type)
            XCTAssertEqual(vector.dtype, type)
        }
        XCTAssertEqual([DType.f32, .f16, .bf16, .int8].map(CPUBackend.shared.heldType), [.f32, .f16, .bf16, .int8])
    }

    func testEmulatedBackendGeneratesTransformersIdsAndKeepsMemoryInThePool() throws {
        // bart-tiny in two types; one model of every other architecture (Pegasus' sinusoidal positions, T5's
        // relative bias, RMS norm and gated feed-forward) in float32
        // every bart-tiny setting (beams, penalties, n-gram bans, forced tokens) in float32: the step's choice
        // goes through choose_tokens, and through the whole logits at forced-token steps
        for (name, types, settingCount) in [("bart-tiny", [DType.f32], 10), ("bart-tiny", [.bf16], 4), ("pegasus-tiny", [.f32], 2),
                                            ("t5-tiny", [.f32], 2), ("flan-t5-tiny", [.f32], 2)] {
            try checkEmulatedGeneration(name, types: types, settingCount: settingCount)
        }
    }

    func checkEmulatedGeneration(_ name: String, types: [DType], settingCount: Int) throws {
        let folder = Fixtures.folder(name)
        let defaults = try GenerationConfig.model(folder: folder)
        let settings = try GenerateSetting.load(name).prefix(settingCount)
        for type in types {
            let gpu = try CUDAEmulator()
            let model = try ModelRegistry.load(folder: folder, backend: CUDABackend(stream: gpu, dtype: type), weightType: type)
            var same = 0, total = 0
            for s in settings {
                let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                let got = try generate(model: model, inputs: s.inputs, configs: Array(repeating: config, count: s.inputs.count), maxBatchSize: 4)
                for i in s.inputs.indices {
                    total += 1
                    if got[i] == s.expected[i] { same += 1 } else if type == .f32 {
                        XCTFail("\(s.name) input \(i): got \(got[i]) expected \(s.expected[i])")
                    }
                }
            }
            let tableCounts = (model.backend as! CUDABackend).tableStatistics
            print("emulated CUDA backend, \(name) \(type.userName): \(same)/\(total) generations identical to transformers float32; "
                  + "attention tables \(tableCounts.uploads) uploaded, \(tableCounts.hits) reused")
            XCTAssertGreaterThanOrEqual(total, 20)
            // bf16 rounds every activation: most outputs still agree on this model
            if type == .bf16 { XCTAssertGreaterThanOrEqual(same * 2, total) }
            XCTAssertGreaterThan(gpu.launches["choose_tokens_\(type.kernelSuffix)", default: 0], 10, "token choice on the device")
            // attention's tables: every layer of a step sends the same spans, every step the same caches
            XCTAssertGreaterThan(tableCounts.hits, 2 * tableCounts.uploads, "\(tableCounts)")
            // the decode loop reuses pooled blocks: far more reuses than allocations
            let stats = gpu.pool.statistics
            XCTAssertGreaterThan(stats.reuses, 10 * stats.driverAllocations, "\(stats)")
        }
    }
}

/// The extractive mode's encoder on the CUDA backend (over the emulator): all-MiniLM-L6-v2's hidden states
/// equal the CPU backend's.
final class CUDABertHostTests: XCTestCase {
    func testMiniLMHiddenStatesOnTheEmulatedBackendEqualTheCPU() throws {
        let folder = try TestPaths.miniLMFolder()
        let cpu = try BertModel(folder: folder, backend: CPUBackend.shared)
        let gpu = try BertModel(folder: folder, backend: CUDABackend(stream: try CUDAEmulator(), dtype: .f32), weightType: .f32)
        let inputs = [[101, 1996, 2103, 2473, 4844, 1037, 2047, 5166, 102], [101, 2009, 3740, 1012, 102]]
        for (c, g) in zip(cpu.hiddenStates(inputs), gpu.hiddenStates(inputs)) {
            XCTAssertEqual(c.shape, g.shape)
            XCTAssertLessThanOrEqual(maxAbsDiff(c.toArray(), g.toArray()), 1e-4)
        }
    }
}
