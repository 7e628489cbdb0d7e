// Many-row products through oneDNN (MatrixLibrary): forced onto every product of the fixture models, where the
// tiny shapes never reach it by themselves, transformers' ids stay exact, alone and batched; the library's
// own checks; and OpenBLAS's choice of kernels by CPU model number, caught against the CPU's features.

import Foundation
import Generation
import Models
@testable import Tensor
import XCTest

final class MatrixLibraryTests: XCTestCase {
    /// oneDNN as the process opened it (`make deps` installs it): a skip here, a failure under CI.
    func library() throws -> MatrixLibrary {
        guard let library = MatrixLibrary.process else {
            let why = "oneDNN not used: \(MatrixLibrary.unavailableReason)"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
        return library
    }

    /// Every product of a model through the library: SkinnyGEMM's row limits set to 0, and every weight type
    /// sent to oneDNN (on AVX2 float32 stays on OpenBLAS by default), for the body.
    func onLibrary<T>(_ library: MatrixLibrary, _ body: () throws -> T) rethrows -> T {
        let (rows, widened, saved) = (SkinnyGEMM.maxRows, SkinnyGEMM.maxRowsWidened, CPUBackend.shared.matrixLibrary)
        SkinnyGEMM.maxRows = 0
        SkinnyGEMM.maxRowsWidened = 0
        CPUBackend.shared.matrixLibrary = library.taking(float32: true, because: "forced by the test")
        defer { SkinnyGEMM.maxRows = rows; SkinnyGEMM.maxRowsWidened = widened; CPUBackend.shared.matrixLibrary = saved }
        let before = MatrixLibrary.statistics
        let result = try body()
        let after = MatrixLibrary.statistics
        print("oneDNN: \(after.products - before.products) products, \(after.refusedShapes - before.refusedShapes) shapes refused")
        XCTAssertGreaterThan(after.products - before.products, 0, "the products went to oneDNN")
        XCTAssertEqual(after.refusedShapes, before.refusedShapes, "no shape went back to OpenBLAS")
        return result
    }

    func testOpensAndPassesItsCheckOnThisCPU() throws {
        let library = try library()
        XCTAssertTrue(library.nativeTypes.contains(.f32))
        XCTAssertNil(MatrixLibrary.check(.f32))
        XCTAssertTrue(MatrixLibrary.manyRows(.f32).contains("\(library.version) \(library.isa)"), MatrixLibrary.manyRows(.f32))
        XCTAssertEqual(library.takesFloat32, CPUTier.supported >= .avx512 || OpenBLASCore.processMismatch != nil, library.float32Reason)
        XCTAssertNotNil(CPUBackend.shared.matrixLibrary)
        XCTAssertNil(CPUBackend(tier: .portable).matrixLibrary, "the reference tier keeps to OpenBLAS")
        print("many-row products: \(DType.allCases.map { "\($0.userName): \(MatrixLibrary.manyRows($0))" }.joined(separator: "; "))")
    }

    /// Products of every weight type past the skinny kernels' rows: the library against OpenBLAS's path
    /// (the same float32 sums up to rounding; bfloat16 natively within bfloat16 activations' rounding).
    func testManyRowProductsMatchTheBLASPath() throws {
        let library = try library()
        let backend = CPUBackend(), blas = CPUBackend()
        backend.matrixLibrary = library.taking(float32: true, because: "forced by the test")
        blas.matrixLibrary = nil
        var rng = SplitMix(seed: 7)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        for type in DType.allCases {
            let (m, k, n) = (MatrixLibrary.largestTile + 70, 200, MatrixLibrary.widenBlock + 31)   // two widened blocks
            let x = values(m * k), bias = values(n)
            let w = CPUKernelCheck.weight(values(n * k), rows: n, columns: k, type, on: backend)
            let got = Tensor(x, shape: [m, k], on: backend).linear(w, bias: Tensor(bias, shape: [n], on: backend)).toArray()
            let want = Tensor(x, shape: [m, k], on: blas).linear(w, bias: Tensor(bias, shape: [n], on: blas)).toArray()
            var num = 0.0, den = 0.0
            for i in want.indices { num += Double(got[i] - want[i]) * Double(got[i] - want[i]); den += Double(want[i]) * Double(want[i]) }
            let bound = library.nativeTypes.contains(type) && type != .f32 ? 1e-2 : 1e-6
            XCTAssertLessThanOrEqual((num / den).squareRoot(), bound, "\(type)")
        }
    }

    /// The kernel check's many-row lines run and pass on every tier above the portable one.
    func testKernelCheckCoversTheLibrary() throws {
        _ = try library()
        let lines = try CPUKernelCheck().run(tier: CPUTier.detected)
        for type in DType.allCases {
            XCTAssertEqual(lines.first { $0.check == "\(type.userName) many-row products" }?.passed, true, "\(type)")
            XCTAssertEqual(lines.first { $0.check == "\(type.userName) many rows in other batches" }?.passed, true, "\(type)")
        }
    }

    /// Every recorded transformers setting of every fixture model, with every product on the library: the same
    /// ids, each input alone and all inputs in one batch (a row's result does not depend on its batch).
    func testGenerationOnTheLibraryGivesTransformersIds() throws {
        try onLibrary(try library()) {
            for name in Fixtures.models {
                let folder = Fixtures.folder(name)
                let model = try ModelRegistry.load(folder: folder, backend: CPUBackend.shared)
                let defaults = try GenerationConfig.model(folder: folder)
                var checked = 0
                for s in try GenerateSetting.load(name) {
                    let config = try defaults.resolve(request: GenerationConfig.lenient(s.params), maxPositions: model.maxPositions)
                    let configs = Array(repeating: config, count: s.inputs.count)
                    let alone = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: 1)
                    let together = try generate(model: model, inputs: s.inputs, configs: configs, maxBatchSize: s.inputs.count)
                    for i in s.inputs.indices {
                        checked += 1
                        XCTAssertEqual(alone[i], s.expected[i], "\(name) \(s.name) input \(i) alone")
                        XCTAssertEqual(together[i], s.expected[i], "\(name) \(s.name) input \(i) batched")
                    }
                }
                XCTAssertGreaterThanOrEqual(checked, 100, name)
            }
        }
    }

    /// Reduced-precision weights on the library: logits of every fixture within the bounds the kernels meet.
    func testReducedPrecisionOnTheLibraryStaysWithinItsBounds() throws {
        let inputs = [[0, 20, 30, 40, 50, 2], [0, 7, 8, 9, 10, 11, 12, 13, 2]]
        try onLibrary(try library()) {
            for name in Fixtures.models {
                let folder = Fixtures.folder(name)
                let reference = DTypeModelTests.logits(try ModelRegistry.load(folder: folder, backend: CPUBackend.shared), inputs: inputs)
                for type in DType.allCases {
                    let e = DTypeModelTests.normalizedError(reference, DTypeModelTests.logits(try ModelRegistry.load(folder: folder, backend: CPUBackend.shared, weightType: type), inputs: inputs))
                    print("\(name) \(type.userName) on oneDNN: normalized logits error \(String(format: "%.2e", e))")
                    XCTAssertLessThanOrEqual(e, DTypeModelTests.bounds[type]!, "\(name) \(type)")
                }
            }
        }
    }

    /// OpenBLAS picks by model number: a CPU it does not know gets SSE3 kernels whatever its features. Faked
    /// here: "Prescott" chosen on AVX2 and AVX-512 CPUs is caught, with the family the features call for, and
    /// a restart is asked for only when the user has not set OPENBLAS_CORETYPE and none was made yet.
    func testOpenBLASFallbackBelowTheCPUIsCaught() {
        XCTAssertEqual(OpenBLASCore.mismatch(core: "Prescott", cpu: .avx512)?.coreType, "SkylakeX")
        XCTAssertEqual(OpenBLASCore.mismatch(core: "Prescott", cpu: .avx2)?.coreType, "Haswell")
        XCTAssertEqual(OpenBLASCore.mismatch(core: "Sandybridge", cpu: .avx2)?.coreType, "Haswell")
        XCTAssertEqual(OpenBLASCore.mismatch(core: "Haswell", cpu: .avx512)?.coreType, "SkylakeX")
        XCTAssertNil(OpenBLASCore.mismatch(core: "Haswell", cpu: .avx2))
        XCTAssertNil(OpenBLASCore.mismatch(core: "Zen", cpu: .avx2))
        XCTAssertNil(OpenBLASCore.mismatch(core: "SapphireRapids", cpu: .avx512))
        XCTAssertNil(OpenBLASCore.mismatch(core: "Prescott", cpu: .portable), "nothing better to pick")
        XCTAssertTrue(OpenBLASCore.mismatch(core: "Prescott", cpu: .avx512)!.reason.contains("model number"))
        let restart = OpenBLASCore.restartEnvironment(core: "Prescott", cpu: .avx512, environment: ["PATH": "/bin"])
        XCTAssertEqual(restart?["OPENBLAS_CORETYPE"], "SkylakeX")
        XCTAssertEqual(restart?["PATH"], "/bin")
        XCTAssertEqual(restart?[OpenBLASCore.restartedVariable], "Prescott")
        XCTAssertNil(OpenBLASCore.restartEnvironment(core: "Prescott", cpu: .avx512, environment: ["OPENBLAS_CORETYPE": "Haswell"]),
                     "the user's choice stands")
        XCTAssertNil(OpenBLASCore.restartEnvironment(core: "Prescott", cpu: .avx512, environment: [OpenBLASCore.restartedVariable: "Prescott"]),
                     "one restart at most")
        // this process: OpenBLAS's choice fits this CPU, or the tests run after the brevity restart would fix it
        print("OpenBLAS here: \(OpenBLASCore.name) on a CPU with \(CPUTier.supported.name)")
    }
}
