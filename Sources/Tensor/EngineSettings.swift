// The process-wide choices the engine makes once (the CPU kernels' tier, oneDNN's use, the CUDA libraries
// and kernel cache), as a value handed over at start-up: Tensor reads no environment and parses no flags.
// The program reads them (BrevityKit's EngineEnvironment: BREVITY_CPU_FEATURES, BREVITY_MATRIX_LIBRARY,
// BREVITY_NVRTC, ...) and gives them with `configure` before the engine's first use; unconfigured, every
// setting is its default.

import Foundation

public struct EngineSettings: Sendable, Equatable {
    /// One CPU kernel tier for every product ("portable", "avx2", "avx512"); nil chooses per weight type.
    public var cpuFeatures: String?
    /// oneDNN's use: "auto" (nil), "onednn" (every many-row product), "none" or "openblas".
    public var matrixLibrary: String?
    /// Stands in for the kernel family OpenBLAS chose, so a test can show what a CPU it does not know gets.
    public var openBLASCore: String?
    /// The family OpenBLAS had chosen before the process restarted with OPENBLAS_CORETYPE, if it did.
    public var openBLASRestartedFrom: String?
    /// A libnvrtc file (nil: the system's libnvrtc.so.13 / .12).
    public var nvrtcPath: String?
    /// Folders holding cuda_fp16.h and cuda_bf16.h (nil: the CUDA toolkit's).
    public var cudaIncludes: [String]?
    /// A libcublas file (nil: the system's libcublas.so.13 / .12).
    public var cublasPath: String?
    /// Where compiled kernels are kept (nil: ~/.cache/brevity/kernels).
    public var kernelCache: String?

    public init(cpuFeatures: String? = nil, matrixLibrary: String? = nil, openBLASCore: String? = nil,
                openBLASRestartedFrom: String? = nil, nvrtcPath: String? = nil, cudaIncludes: [String]? = nil,
                cublasPath: String? = nil, kernelCache: String? = nil) {
        self.cpuFeatures = cpuFeatures
        self.matrixLibrary = matrixLibrary
        self.openBLASCore = openBLASCore
        self.openBLASRestartedFrom = openBLASRestartedFrom
        self.nvrtcPath = nvrtcPath
        self.cudaIncludes = cudaIncludes
        self.cublasPath = cublasPath
        self.kernelCache = kernelCache
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var value = EngineSettings()
    /// Whether the once-made choices (tier, library, OpenBLAS family) have read `value`.
    nonisolated(unsafe) private static var fixed = false

    /// The settings in effect.
    public static var current: EngineSettings { lock.withLock { value } }

    /// The settings the once-made choices read: after this, `configure` cannot change those.
    static var fixedNow: EngineSettings {
        lock.withLock {
            fixed = true
            return value
        }
    }

    /// Hands the settings over. False (and nothing changes) when the engine has already made its
    /// once-made choices from different ones: configure before the first use.
    @discardableResult
    public static func configure(_ settings: EngineSettings) -> Bool {
        lock.withLock {
            if fixed, settings.cpuFeatures != value.cpuFeatures || settings.matrixLibrary != value.matrixLibrary
                || settings.openBLASCore != value.openBLASCore || settings.openBLASRestartedFrom != value.openBLASRestartedFrom {
                return false
            }
            value = settings
            return true
        }
    }
}
