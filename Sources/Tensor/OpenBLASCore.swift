// OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernels by CPU model number, not by feature flags: a CPU newer
// than its table (an Emerald Rapids Xeon, model 207, under 0.3.21) silently gets the SSE3 "Prescott" kernels,
// half the speed of its AVX-512 ones. Here the family it picked (openblas_get_corename) is held against the
// instruction set the CPU reports; below it, the `brevity` executable restarts itself once with
// OPENBLAS_CORETYPE set from the feature flags (OpenBLAS reads it only as it loads), and many-row products go
// to oneDNN (MatrixLibrary) in any case.

import CBLAS
import Foundation

public enum OpenBLASCore {
    /// The kernel family OpenBLAS chose in this process ("Haswell", "SkylakeX", "Prescott", ...).
    /// The `openBLASCore` setting (BREVITY_FAKE_OPENBLAS_CORE) stands in for it, so a test can show what a CPU
    /// OpenBLAS does not know gets.
    public static var name: String {
        if let fake = EngineSettings.fixedNow.openBLASCore, !fake.isEmpty { return fake }
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The family OpenBLAS had chosen before `brevity` restarted with OPENBLAS_CORETYPE, if it did.
    public static var restartedFrom: String? { EngineSettings.fixedNow.openBLASRestartedFrom }

    /// The instruction-set tier a kernel family of OpenBLAS 0.3 uses: AVX-512 families, AVX2 families, and
    /// the rest (SSE and AVX1 families, whose sgemm is a fraction of an AVX2 one). Case-insensitive.
    public static func tier(ofCore name: String) -> CPUTier {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen": return .avx2
        default: return .portable
        }
    }

    /// OPENBLAS_CORETYPE for a CPU of `tier` (by its feature flags): the best family OpenBLAS has for it.
    public static func coreType(for tier: CPUTier) -> String? {
        switch tier {
        case .avx512: return "SkylakeX"
        case .avx2: return "Haswell"
        case .portable: return nil
        }
    }

    /// Why the family `core` is wrong for a CPU of `cpu`, with what to use instead; nil when it fits (or
    /// nothing better exists).
    public static func mismatch(core: String, cpu: CPUTier) -> (reason: String, coreType: String)? {
        guard tier(ofCore: core) < cpu, let better = coreType(for: cpu) else { return nil }
        return ("OpenBLAS chose its \(core) kernels (by CPU model number) on a CPU with \(cpu.name); OPENBLAS_CORETYPE=\(better) fits it",
                better)
    }

    /// This process's verdict: nil when OpenBLAS's choice fits the CPU.
    public static var processMismatch: (reason: String, coreType: String)? {
        mismatch(core: name, cpu: CPUTier.supported)
    }

    /// The environment variable that marks a process the executable restarted with OPENBLAS_CORETYPE (no second restart).
    public static let restartedVariable = "BREVITY_OPENBLAS_RESTARTED"

    /// The environment a corrected process should run with, or nil when no restart is called for: OpenBLAS
    /// mismatched, OPENBLAS_CORETYPE not set by the user, and not already restarted.
    public static func restartEnvironment(core: String, cpu: CPUTier, environment: [String: String]) -> [String: String]? {
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[restartedVariable] == nil,
              let fix = mismatch(core: core, cpu: cpu) else { return nil }
        var env = environment
        env["OPENBLAS_CORETYPE"] = fix.coreType
        env[restartedVariable] = core
        return env
    }
}
