import ArgumentParser
import Foundation
import Tensor

/// `brevity cpu-check`: the CPU kernels of each instruction-set tier this CPU has (or those named) against a
/// Double reference and the portable tier (CPUKernelCheck), one line per check. The `avx512` tier is used
/// only when asked for (BREVITY_CPU_FEATURES=avx512) until it has passed here on a CPU that has it. Exit 1
/// when a check fails, 2 when a named tier is unknown or beyond this CPU.
struct CPUCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu-check",
        abstract: "Check the CPU kernels of each instruction-set tier this CPU supports against a Double reference."
    )

    @Option(name: .customLong("tier"), help: "portable, avx2 or avx512; repeatable (default: every tier this CPU supports).")
    var tiers: [String] = []

    @Flag(help: "One JSON object per check instead of text.")
    var json = false

    func run() throws {
        var chosen: [CPUTier] = []
        do {
            chosen = try tiers.map { try CPUTier.named($0, setting: "--tier ") }
        } catch {
            printError("cpu-check: \(error)")
            throw ExitCode(2)
        }
        if chosen.isEmpty { chosen = CPUTier.allCases.filter { $0 <= CPUTier.supported } }
        if !json {
            print("cpu: \(CPUBackend.cores) cores, supports \(CPUTier.supported.name), kernels by default \(CPUTier.detected.name)")
            print("openblas: \(OpenBLASCore.name)" + (OpenBLASCore.restartedFrom.map { ", restarted from \($0) with OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "")" } ?? "")
                  + (OpenBLASCore.processMismatch.map { "; \($0.reason)" } ?? ""))
            print("onednn: \(MatrixLibrary.summary)")
            print("decode products by default: \(CPUTier.productTiersDescription)")
            print("many-row products: " + DType.allCases.map { "\($0.userName) \(MatrixLibrary.manyRows($0))" }.joined(separator: "; "))
        }
        var failed = false
        for tier in chosen {
            for line in try CPUKernelCheck().run(tier: tier) {
                failed = failed || !line.passed
                if json {
                    let object: [String: Any] = ["tier": tier.name, "check": line.check, "passed": line.passed,
                                                 "error": line.error.isFinite ? line.error : -1, "bound": line.bound,
                                                 "detail": line.detail]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(line)
                }
            }
        }
        if failed {
            printError("cpu-check: a check failed")
            throw ExitCode(1)
        }
    }
}
