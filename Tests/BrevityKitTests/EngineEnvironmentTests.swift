// The engine reads no environment: BrevityKit reads the BREVITY_* settings in one place and hands them over
// as a value before the engine's first use, and the device's name is parsed in one place.

import BrevityKit
import Tensor
import XCTest

final class EngineEnvironmentTests: XCTestCase {
    func testEverySettingIsReadFromItsVariable() {
        let s = EngineEnvironment.settings([
            "BREVITY_CPU_FEATURES": "portable", "BREVITY_MATRIX_LIBRARY": "none", "BREVITY_FAKE_OPENBLAS_CORE": "Prescott",
            "BREVITY_OPENBLAS_RESTARTED": "Prescott", "BREVITY_NVRTC": "/n/libnvrtc.so.12", "BREVITY_CUDA_INCLUDE": "/a:/b",
            "BREVITY_CUBLAS": "/c/libcublas.so.12", "BREVITY_KERNEL_CACHE": "/k", "XDG_CACHE_HOME": "/x",
        ])
        XCTAssertEqual(s, EngineSettings(cpuFeatures: "portable", matrixLibrary: "none", openBLASCore: "Prescott",
                                         openBLASRestartedFrom: "Prescott", nvrtcPath: "/n/libnvrtc.so.12", cudaIncludes: ["/a", "/b"],
                                         cublasPath: "/c/libcublas.so.12", kernelCache: "/k"))
        // empty values are unset; the kernel cache falls back to XDG_CACHE_HOME
        let fallback = EngineEnvironment.settings(["BREVITY_CPU_FEATURES": "", "XDG_CACHE_HOME": "/x"])
        XCTAssertEqual(fallback, EngineSettings(kernelCache: "/x/brevity/kernels"))
        XCTAssertEqual(EngineEnvironment.settings([:]), EngineSettings())
    }

    func testTheOnceMadeChoicesCannotBeChangedAfterTheyAreMade() {
        // the kernels' tier is chosen (from the settings) once the backend exists
        _ = CPUBackend.shared.tier
        var other = EngineSettings.current
        other.cpuFeatures = other.cpuFeatures == "portable" ? "avx2" : "portable"
        XCTAssertFalse(EngineSettings.configure(other), "a tier setting after the tier was chosen changes nothing, and says so")
        var paths = EngineSettings.current
        paths.kernelCache = "/elsewhere"
        let before = EngineSettings.current
        XCTAssertTrue(EngineSettings.configure(paths), "paths are read when used")
        XCTAssertEqual(KernelCache.standard.folder.path, "/elsewhere")
        EngineSettings.configure(before)
    }

    func testBadSettingsAreNamed() {
        XCTAssertNil(EngineEnvironment.cpuFeaturesProblem([:]))
        XCTAssertTrue(EngineEnvironment.cpuFeaturesProblem(["BREVITY_CPU_FEATURES": "sse9"])?.contains("BREVITY_CPU_FEATURES=sse9") ?? false)
        XCTAssertEqual(Placement.parseDevice("CUDA"), .cuda)
        XCTAssertEqual(Placement.parseDevice("cpu"), .cpu)
        XCTAssertNil(Placement.parseDevice("tpu"))
    }

    /// Placement is resolved once into a value: what was asked, the device, the weights' and the
    /// activations' types, and why.
    func testPlacementSaysWhatWasAskedAndWhatRuns() throws {
        let p = try Placement.choose(device: "CPU", dtype: "bf16", modelType: "bart")
        XCTAssertEqual(p.requested.device, .cpu)
        XCTAssertEqual(p.requested.dtype, .bf16)
        XCTAssertEqual(p.weightType, .bf16)
        XCTAssertEqual(p.activationType, .f32, "the CPU widens narrower weights in its products")
        XCTAssertEqual(p.reason, "--device cpu")
        let auto = try Placement.choose(device: "cpu", dtype: nil, modelType: nil)
        XCTAssertNil(auto.requested.dtype)
        XCTAssertEqual(auto.weightType, .f32, "auto is the device's default")
        // a GPU's activation type is its one type: Backend.heldType (CUDABackendHostTests checks it on the emulator)
    }
}
