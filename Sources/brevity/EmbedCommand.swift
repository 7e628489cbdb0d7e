import ArgumentParser
import BrevityKit
import Extractive
import Foundation
import Tensor
import Tokenizers

/// `brevity embed --model PATH --format jsonl`: reads `{"text": ...}` lines and writes one
/// `{"embedding": [...]}` per line, in order: the sentence embedding sentence-transformers computes for
/// that text with the model (all-MiniLM-L6-v2: mean pooling, L2-normalized, truncated at 256 tokens).
/// Blank lines are skipped. A bad line stops the run with a message naming it (exit 1), after the
/// lines before it were written.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings of JSON Lines from standard input with a sentence-transformers BERT model."
    )

    enum Format: String, ExpressibleByArgument { case jsonl, text }

    @Option(help: "A sentence-transformers model: a folder (config.json, model.safetensors, tokenizer.json, modules.json) or a hub id org/name[@revision].")
    var model: String

    @Option(help: "jsonl: {\"text\": ...} lines in; text: each line is a text. Out: {\"embedding\": [...]} lines.")
    var format: Format = .jsonl

    @Option(help: "Texts per forward pass (packed without padding).")
    var batchSize: Int = 64

    @Option(help: "Time the embedding of all inputs this many times after a warm-up; JSON to standard error.")
    var benchRepeat: Int = 0

    @Option(help: "Weights' type: float32, bfloat16, float16, int8 (default: DTYPE, else float32).")
    var dtype: String?

    /// The embedder's type: it runs on the CPU, where `auto` is float32.
    func cpuWeightType() throws -> DType { Placement.weightType(requested: try requestedDType(dtype), onGPU: false) }

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if benchRepeat < 0 { throw ValidationError("--bench-repeat must be non-negative") }
        _ = try requestedDType(dtype)
    }

    func run() async throws {
        let folder = await resolveModelFolder(model)   // a folder, or a hub model (DownloadCommand.swift)
        let embedder: SentenceTransformerEmbedder
        let t0 = DispatchTime.now().uptimeNanoseconds
        do { embedder = try SentenceTransformerEmbedder(folder: folder, backend: CPUBackend.shared, weightType: cpuWeightType()) } catch {
            printError("cannot load model: \(error)")
            throw ExitCode(2)
        }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let out = StdoutWriter()
        var pending: [String] = []
        var all: [String] = []

        func flush() throws {
            guard !pending.isEmpty else { return }
            for v in try embedder.embed(pending) { out.write(Self.jsonLine(v)) }
            if benchRepeat > 0 { all += pending }
            pending.removeAll(keepingCapacity: true)
        }

        var lineNo = 0
        var lines = StdinLines()
        do {
            while let raw = lines.next() {
                lineNo += 1
                guard let text = String(validating: raw, as: UTF8.self) else {
                    throw InputError(description: "line \(lineNo): invalid UTF-8")
                }
                switch format {
                case .text:
                    pending.append(text)
                case .jsonl:
                    if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    pending.append(try Self.readText(raw, line: lineNo))
                }
                if pending.count >= batchSize { try flush() }
            }
            try flush()
        } catch {
            try? flush()   // the valid lines before the bad one
            out.flush()
            printError("\(error)")
            throw ExitCode(1)
        }
        out.flush()
        if benchRepeat > 0 { try bench(embedder, all, loadSeconds: loadSeconds) }
    }

    /// `benchRepeat` timed passes over all inputs (after the pass that wrote them, the warm-up);
    /// batches of `batchSize` texts as above.
    private func bench(_ embedder: SentenceTransformerEmbedder, _ texts: [String], loadSeconds: Double) throws {
        let tokens = try texts.reduce(0) { $0 + (try embedder.inputIds($1)).count }
        var times: [Double] = []
        for _ in 0..<benchRepeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var start = 0
            while start < texts.count {
                let end = min(start + batchSize, texts.count)
                _ = try embedder.embed(Array(texts[start..<end]))
                start = end
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let kind = ((try? cpuWeightType()) ?? .f32).userName
        let line = "{\"system\": \"brevity\", \"dtype\": \"\(kind)\", \"sentences\": \(texts.count), \"tokens\": \(tokens), "
            + "\"batch_size\": \(batchSize), \"load_seconds\": \(String(format: "%.3f", loadSeconds)), "
            + "\"seconds\": [\(times.map { String(format: "%.4f", $0) }.joined(separator: ", "))], "
            + "\"seconds_median\": \(String(format: "%.4f", median)), "
            + "\"sentences_per_s\": \(String(format: "%.1f", Double(texts.count) / median))}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func jsonLine(_ v: [Float]) -> [UInt8] {
        var s = "{\"embedding\": ["
        s.reserveCapacity(v.count * 12 + 20)
        for (i, x) in v.enumerated() {
            if i > 0 { s += ", " }
            s += x.description   // shortest representation that reads back as the same float32
        }
        s += "]}\n"
        return Array(s.utf8)
    }

    static func readText(_ raw: [UInt8], line: Int) throws -> String {
        let v: JSONValue
        do { v = try JSONValue.parse(data: raw) } catch { throw InputError(description: "line \(line): \(error)") }
        guard case .object = v else { throw InputError(description: "line \(line): expected a JSON object with a \"text\" field") }
        guard let t = v["text"] else { throw InputError(description: "line \(line): missing field \"text\"") }
        guard case .string(let s) = t else {
            throw InputError(description: "line \(line): field \"text\" must be a string, found \(t.typeName)")
        }
        return s
    }
}
