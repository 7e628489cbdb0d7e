import ArgumentParser
import Tensor

@main
struct Brevity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brevity",
        abstract: "Brevity: a text-summarization service and its offline tools.",
        subcommands: [TokenizeCommand.self, BenchCommand.self, SummarizeCommand.self, ServeCommand.self,
                      DownloadCommand.self, InspectCommand.self, EmbedCommand.self, CUDACheckCommand.self, CPUCheckCommand.self]
    )

    /// OpenBLAS chose its kernels by CPU model number as it loaded: when that fell below what the CPU has, the
    /// process restarts once with OPENBLAS_CORETYPE set from the feature flags (OpenBLASCore).
    static func main() async {
        if let problem = OpenBLASCore.restartIfMismatched(arguments: CommandLine.arguments, log: { printError("brevity: \($0)") }) {
            printError("brevity: \(problem)")
        }
        await main(nil)
    }
}
