import ArgumentParser
import BrevityKit
import Foundation
import Tensor

@main
struct Brevity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brevity",
        abstract: "Brevity: a text-summarization service and its offline tools.",
        subcommands: [TokenizeCommand.self, BenchCommand.self, SummarizeCommand.self, ServeCommand.self,
                      DownloadCommand.self, InspectCommand.self, EmbedCommand.self, CUDACheckCommand.self, CPUCheckCommand.self]
    )

    /// The engine's settings from the environment first (EngineEnvironment). OpenBLAS chose its kernels by
    /// CPU model number as it loaded: when that fell below what the CPU has, the process restarts once with
    /// OPENBLAS_CORETYPE set from the feature flags (OpenBLASCore).
    static func main() async {
        EngineEnvironment.apply()
        if let problem = restartIfOpenBLASMismatched(arguments: CommandLine.arguments, log: { printError("\($0)") }) {
            printError(problem)
        }
        await main(nil)
    }

    /// Restarts the running executable (/proc/self/exe, same arguments) with OPENBLAS_CORETYPE set when OpenBLAS
    /// chose kernels below the CPU, saying so on `log`; returns only when no restart was called for or the exec
    /// failed (with why). Call before any other work: the process image is replaced.
    static func restartIfOpenBLASMismatched(arguments: [String], log: (String) -> Void) -> String? {
        let environment = ProcessInfo.processInfo.environment
        let core = OpenBLASCore.name
        guard let env = OpenBLASCore.restartEnvironment(core: core, cpu: CPUTier.supported, environment: environment),
              let fix = OpenBLASCore.mismatch(core: core, cpu: CPUTier.supported) else { return nil }
        log("\(fix.reason): restarting with it")
        let keys = ["OPENBLAS_CORETYPE", OpenBLASCore.restartedVariable]
        for key in keys { setenv(key, env[key]!, 1) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        let why = String(cString: strerror(errno))
        for key in keys { unsetenv(key) }
        return "could not restart with OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"]!): \(why)"
    }
}
