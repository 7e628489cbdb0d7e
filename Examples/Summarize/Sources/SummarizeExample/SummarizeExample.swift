// summarize-example MODEL [FILE ...]: streams a summary of each file (standard input when none) to
// standard output, one line each, then the device, type and timing to standard error.
// MODEL is a folder or a hub id such as facebook/bart-large-cnn (downloaded to the Hugging Face cache).

import BrevityKit
import Foundation

@main
struct SummarizeExample {
    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let model = args.first, !model.hasPrefix("-") else {
            FileHandle.standardError.write(Data("usage: summarize-example MODEL [FILE ...]\n".utf8))
            exit(2)
        }
        do {
            let summarizer = try await Summarizer(model: model)
            let texts = try args.count > 1
                ? args.dropFirst().map { try String(contentsOfFile: $0, encoding: .utf8) }
                : [String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)]
            let start = Date()
            for text in texts {
                // the pieces arrive as they are generated (a beam search's when it ends)
                for try await piece in summarizer.stream(text) {
                    FileHandle.standardOutput.write(Data(piece.text.utf8))
                }
                FileHandle.standardOutput.write(Data("\n".utf8))
            }
            let seconds = String(format: "%.2f", Date().timeIntervalSince(start))
            FileHandle.standardError.write(Data(
                "\(summarizer.mode.rawValue) summaries of \(texts.count) text(s) by \(summarizer.name) on \(summarizer.device) in \(summarizer.dtype), \(seconds) s\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("summarize-example: \(error)\n".utf8))
            exit(1)
        }
    }
}
