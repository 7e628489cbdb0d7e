import Foundation
import Tensor

/// The engine's process-wide settings read from the environment, in one place: the engine itself reads
/// none. Every surface applies them before its first use of the engine (``Placement`` does, so the
/// library, the service and the commands all do).
public enum EngineEnvironment {
    /// The engine's settings from `environment`:
    /// - `BREVITY_CPU_FEATURES`: one CPU kernel tier for every product (portable, avx2, avx512);
    /// - `BREVITY_MATRIX_LIBRARY`: oneDNN's use (auto, onednn, none, openblas);
    /// - `BREVITY_NVRTC`, `BREVITY_CUDA_INCLUDE` (folders separated by `:`), `BREVITY_CUBLAS`: the CUDA libraries;
    /// - `BREVITY_KERNEL_CACHE`, else `$XDG_CACHE_HOME/brevity/kernels`: compiled kernels;
    /// - `BREVITY_FAKE_OPENBLAS_CORE` (tests) and `BREVITY_OPENBLAS_RESTARTED` (set by the restart that
    ///   corrects OpenBLAS's kernel family).
    public static func settings(_ environment: [String: String]) -> EngineSettings {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return EngineSettings(
            cpuFeatures: value("BREVITY_CPU_FEATURES"), matrixLibrary: value("BREVITY_MATRIX_LIBRARY"),
            openBLASCore: value("BREVITY_FAKE_OPENBLAS_CORE"), openBLASRestartedFrom: value(OpenBLASCore.restartedVariable),
            nvrtcPath: value("BREVITY_NVRTC"), cudaIncludes: value("BREVITY_CUDA_INCLUDE").map { $0.split(separator: ":").map(String.init) },
            cublasPath: value("BREVITY_CUBLAS"),
            kernelCache: value("BREVITY_KERNEL_CACHE") ?? value("XDG_CACHE_HOME").map { $0 + "/brevity/kernels" })
    }

    /// The process environment's settings, handed to the engine once; later calls do nothing. False when the
    /// engine had already made its once-made choices from other settings.
    @discardableResult
    public static func apply() -> Bool { applied }

    private static let applied = EngineSettings.configure(settings(ProcessInfo.processInfo.environment))

    /// `BREVITY_CPU_FEATURES` checked: the reason it cannot be used (unknown, or above this CPU), or nil.
    public static func cpuFeaturesProblem(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        do { _ = try CPUTier.fromSetting(settings(environment).cpuFeatures) } catch { return "\(error)" }
        return nil
    }
}
