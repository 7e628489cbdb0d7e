import ArgumentParser
import Foundation
import Tokenizers

/// `brevity bench tokenizer`: encoding throughput on a text file, one line per text, single thread,
/// after a warm-up; prints JSON with the median of the timed runs.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Brevity's components.",
        subcommands: [BenchTokenizerCommand.self, BenchReplayCommand.self]
    )
}

struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Encoding throughput of a tokenizer on a text file (one text per line)."
    )

    @Option(help: "A tokenizer.json file or a model folder.")
    var tokenizer: String

    @Option(help: "A UTF-8 text file; each line is encoded as one text.")
    var input: String

    @Option(help: "Timed runs after one warm-up run.")
    var runs: Int = 3

    @Flag(help: "Keep the padding and truncation stored in tokenizer.json (off by default, as in bench/tokenizers/hf_bench.py).")
    var keepFileSettings = false

    @Flag(help: "Encode without the post-processor's special tokens.")
    var noSpecialTokens = false

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let tok: Tokenizer
        do { tok = try Tokenizer.load(from: URL(fileURLWithPath: tokenizer)) } catch {
            printError("cannot load tokenizer: \(error)")
            throw ExitCode(2)
        }
        guard let data = FileManager.default.contents(atPath: input) else {
            printError("cannot read \(input)")
            throw ExitCode(2)
        }
        let text = String(decoding: data, as: UTF8.self)
        // Split on the newline byte, as Python's str.split("\n") does (not on grapheme clusters).
        var lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        let truncation: Truncation = keepFileSettings ? .fromFile : .none
        var times: [Double] = []
        var tokens = 0
        for r in 0...runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var n = 0
            for l in lines {
                n += try tok.encode(l, addSpecialTokens: !noSpecialTokens, truncation: truncation, padding: keepFileSettings).ids.count
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if r > 0 { times.append(dt) }
            tokens = n
        }
        times.sort()
        let median = times[times.count / 2]
        let mb = Double(data.count) / 1e6
        print("{\"system\": \"brevity\", \"tokenizer\": \"\(tokenizer)\", \"bytes\": \(data.count), \"lines\": \(lines.count), "
              + "\"tokens\": \(tokens), \"seconds_median\": \(String(format: "%.4f", median)), \"mb_per_s\": \(String(format: "%.3f", mb / median))}")
    }
}
