import ArgumentParser
import Foundation
import Generation
import Hub
import Models
import NN

/// `brevity inspect MODEL`: what a model is before loading it — architecture, parameters and dtypes (from
/// the weight files' headers, nothing is loaded), files and sizes, generation defaults.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model: architecture, parameter count, dtypes, files and sizes, generation defaults."
    )

    @Argument(help: "A model folder or org/name[@revision] (from the hub cache, downloaded when missing).")
    var model: String

    @Option(help: "A branch, tag or commit for a hub model.")
    var revision: String?

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func run() async throws {
        let folder = await resolveModelFolder(model, revision: revision)
        let report: ModelReport
        do { report = try ModelReport(folder: folder) } catch { exitWith(error) }
        if json {
            let data = try JSONSerialization.data(withJSONObject: report.json(model: model),
                                                  options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(report.text(model: model), terminator: "")
        }
    }
}

/// The facts `inspect` prints, gathered from a model folder.
struct ModelReport {
    var folder: URL
    var commit: String?
    var architectures: [String] = []
    var modelType = "?"
    var dims: [(String, Int)] = []
    var weightFiles: [String] = []
    var parameters = 0
    var tensors = 0
    var byDType: [String: (tensors: Int, parameters: Int)] = [:]
    var files: [(name: String, size: Int)] = []
    var generation: [(String, String)] = []

    init(folder: URL) throws {
        self.folder = folder
        // a hub snapshot: .../snapshots/<commit>
        if folder.deletingLastPathComponent().lastPathComponent == "snapshots" { commit = folder.lastPathComponent }
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw InputError(description: "no readable config.json in \(folder.path)")
        }
        architectures = config["architectures"] as? [String] ?? []
        modelType = config["model_type"] as? String ?? "?"
        for key in ["vocab_size", "d_model", "hidden_size", "encoder_layers", "decoder_layers", "num_hidden_layers",
                    "encoder_attention_heads", "num_attention_heads", "max_position_embeddings",
                    "num_layers", "num_decoder_layers", "num_heads", "d_kv", "d_ff"] {
            if let n = config[key] as? NSNumber { dims.append((key, n.intValue)) }
        }
        try readWeights()
        files = ModelReport.listFiles(folder)
        if let g = try? GenerationConfig.model(folder: folder) { generation = ModelReport.fields(g) }
    }

    private mutating func readWeights() throws {
        let fm = FileManager.default
        guard let first = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]
            .first(where: { fm.fileExists(atPath: folder.appendingPathComponent($0).path) }) else {
            throw InputError(description: "no weights (model.safetensors, pytorch_model.bin or a sharded index) in \(folder.path)")
        }
        weightFiles = first.hasSuffix(".index.json") ? try ModelFiles.shards(ofIndex: folder.appendingPathComponent(first)) : [first]
        // tied tensors of a PyTorch checkpoint share bytes: count each byte range once
        var seen = Set<String>()
        for name in weightFiles {
            let file = try openWeightFile(folder.appendingPathComponent(name))
            for e in file.entries.values {
                tensors += 1
                let count = e.shape.reduce(1, *)
                var d = byDType[e.dtypeName] ?? (0, 0)
                d.tensors += 1
                if seen.insert("\(name):\(e.begin):\(e.end):\(e.shape)").inserted {
                    parameters += count
                    d.parameters += count
                }
                byDType[e.dtypeName] = d
            }
        }
    }

    static func listFiles(_ folder: URL) -> [(name: String, size: Int)] {
        var out: [(String, Int)] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder.path) else { return [] }
        while let rel = walker.nextObject() as? String {
            let path = folder.appendingPathComponent(rel).path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                  !rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            var st = stat()
            let size = stat(path, &st) == 0 ? Int(st.st_size) : 0      // through the snapshot's symlinks
            out.append((rel, size))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static func fields(_ g: GenerationConfig) -> [(String, String)] {
        var out: [(String, String)] = []
        func add(_ k: String, _ v: Any?) { if let v { out.append((k, "\(v)")) } }
        add("num_beams", g.numBeams); add("max_length", g.maxLength); add("max_new_tokens", g.maxNewTokens)
        add("min_length", g.minLength); add("min_new_tokens", g.minNewTokens); add("length_penalty", g.lengthPenalty)
        if let e = g.earlyStopping { add("early_stopping", e == .on ? "true" : e == .never ? "\"never\"" : "false") }
        add("no_repeat_ngram_size", g.noRepeatNgramSize); add("repetition_penalty", g.repetitionPenalty)
        add("do_sample", g.doSample); add("temperature", g.temperature); add("top_k", g.topK); add("top_p", g.topP)
        add("forced_bos_token_id", g.forcedBosTokenId); add("forced_eos_token_id", g.forcedEosTokenId)
        add("eos_token_id", g.eosTokenId); add("pad_token_id", g.padTokenId); add("decoder_start_token_id", g.decoderStartTokenId)
        return out
    }

    /// Whether Brevity runs this model_type, and the ones it does.
    var support: String {
        if let arch = ModelRegistry.architectures[modelType] {
            return "yes, as a \(arch.role.name) (\(arch.role == .summarizer ? "abstractive" : "extractive") mode)"
        }
        return "no: Brevity runs \(ModelRegistry.supportedDescription)"
    }

    func text(model: String) -> String {
        var s = "model         \(model)\nfolder        \(folder.path)\n"
        if let commit { s += "commit        \(commit)\n" }
        s += "architecture  \(architectures.isEmpty ? "?" : architectures.joined(separator: ", ")) (model_type \(modelType))\n"
        s += "support       \(support)\n"
        if !dims.isEmpty { s += "dimensions    " + dims.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + "\n" }
        s += "parameters    \(grouped(parameters)) (\(short(parameters))) in \(tensors) tensors of \(weightFiles.joined(separator: ", "))\n"
        s += "dtypes        " + byDType.keys.sorted().map { k in
            "\(k): \(byDType[k]!.tensors) tensors, \(short(byDType[k]!.parameters)) parameters"
        }.joined(separator: "; ") + "\n"
        s += "files         \(files.count), \(formatBytes(files.reduce(0) { $0 + $1.size })) in all\n"
        let width = files.map(\.name.count).max() ?? 0
        for f in files { s += "  " + f.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + formatBytes(f.size) + "\n" }
        s += "generation    " + (generation.isEmpty ? "(none)" : generation.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")) + "\n"
        return s
    }

    func json(model: String) -> [String: Any] {
        var o: [String: Any] = [
            "model": model, "folder": folder.path, "architectures": architectures, "model_type": modelType,
            "supported": ModelRegistry.architectures[modelType] != nil,
            "supported_model_types": ModelRegistry.architectures.mapValues(\.role.rawValue),
            "parameters": parameters, "tensors": tensors, "weight_files": weightFiles,
            "dtypes": byDType.mapValues { ["tensors": $0.tensors, "parameters": $0.parameters] },
            "files": files.map { ["name": $0.name, "size": $0.size] },
            "generation": Dictionary(uniqueKeysWithValues: generation.map { ($0.0, $0.1) }),
            "dimensions": Dictionary(uniqueKeysWithValues: dims.map { ($0.0, $0.1) }),
        ]
        if let commit { o["commit"] = commit }
        return o
    }

    private func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    private func short(_ n: Int) -> String {
        n >= 1_000_000_000 ? String(format: "%.2fB", Double(n) / 1e9)
            : n >= 1_000_000 ? String(format: "%.1fM", Double(n) / 1e6)
            : n >= 1000 ? String(format: "%.1fK", Double(n) / 1e3) : String(n)
    }
}
