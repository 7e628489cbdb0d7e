import ArgumentParser

@main
struct Brevity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brevity",
        abstract: "Brevity: a text-summarization service and its offline tools.",
        subcommands: [TokenizeCommand.self, BenchCommand.self, SummarizeCommand.self, ServeCommand.self,
                      DownloadCommand.self, InspectCommand.self, EmbedCommand.self, CUDACheckCommand.self, CPUCheckCommand.self]
    )
}
