import ArgumentParser
import BrevityKit
import Foundation
import Generation
import Models
import Tensor
import Tokenizers

/// `brevity bench replay`: drafting measured on real copy structure without trained weights. Each
/// article's recorded summary (a trained summarizer's own output) is forced token by token through the
/// model's greedy decoder, with drafts proposed from the article's real input ids; the same encoding is
/// decoded with and without drafts, alternating which goes first. Reports decoder passes per generated token
/// and the decode time per summary (the encoder timed apart), one JSON line per batch size, the last one
/// holding every figure.
struct BenchReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Drafting on recorded summaries: passes per token and decode time with and without drafts."
    )

    @Option(help: "A model folder (bart-large-cnn's shape; random weights do, since every token is forced).")
    var model: String

    @Option(help: "JSON lines with \"id\" and \"article\" (../shared/data/news/cnndm-dev.jsonl).")
    var articles: String

    @Option(help: "JSON lines with \"id\" and \"bart\", the recorded summary (cnndm-dev-bart.jsonl); matched by id.")
    var summaries: String

    @Option(help: "Drafted tokens a pass checks.")
    var draftTokens: Int = RuntimeDefaults.draftTokens

    @Option(help: "Articles decoding together, comma-separated (1 gives ms_per_summary).")
    var batches: String = "1"

    @Option(help: "Articles at most (in the order of --articles; 0: all).")
    var limit: Int = 0

    @Option(help: "Weights' type: float32, bfloat16, float16, int8.")
    var dtype: String = "float32"

    enum Proposer: String, ExpressibleByArgument { case source, oracle }

    @Option(help: "source: the service's lookup in the input ids; oracle: the recorded summary's next tokens (the bound a perfect proposer reaches, and a pass of exactly 1 + k rows, to time passes by rows).")
    var proposer: Proposer = .source

    func validate() throws {
        if draftTokens < 1 { throw ValidationError("--draft-tokens must be at least 1") }
        if limit < 0 { throw ValidationError("--limit must be non-negative") }
        if batchSizes == nil { throw ValidationError("--batches: positive integers, comma-separated") }
        _ = try requestedDType(dtype)
    }

    var batchSizes: [Int]? {
        let sizes = batches.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return sizes.map { $0! }
    }

    func run() throws {
        let pairs = try Self.pairs(articles: articles, summaries: summaries, limit: limit)
        let (backend, type) = try chooseBackend(device: "cpu", dtype: dtype)
        let engine = try SummarizationEngine.load(folder: URL(fileURLWithPath: model), name: model, weightType: type, backend: backend)
        var request = GenerationConfig()
        request.numBeams = 1
        request.doSample = false
        // the model's other defaults stay (their processors run, as in service); the forcing comes last
        var texts: [(input: [Int], forced: [Int])] = []
        for p in pairs {
            let input = try engine.inputIds(p.article).ids
            let forced = try engine.tokenizer.encode(p.summary, truncation: .none, padding: false).ids
            texts.append((input, forced))
        }
        let longest = texts.map(\.forced.count).max() ?? 1
        request.maxLength = min(engine.model.maxPositions, longest + 2)
        request.minLength = 0
        let config = try engine.resolve(request)
        // a short warm-up: first-use costs out of the timings
        _ = try decode(engine.model, Array(texts.prefix(1)), encoded: engine.model.encode([texts[0].input]), config: config,
                       drafts: 0, steps: 4)

        var figures: [String: Any] = ["articles": texts.count, "draft_tokens": draftTokens, "dtype": type.userName, "proposer": proposer.rawValue,
                                      "cpu_kernels": CPUBackend.shared.tier.name, "model": model]
        for size in batchSizes! {
            var plainSeconds = 0.0, draftedSeconds = 0.0, encodeSeconds = 0.0
            var plain = DraftStatistics(), drafted = DraftStatistics(), tokens = 0
            for (g, start) in stride(from: 0, to: texts.count, by: size).enumerated() {
                let group = Array(texts[start..<min(texts.count, start + size)])
                let t0 = DispatchTime.now().uptimeNanoseconds
                let encoded = engine.model.encode(group.map(\.input))
                _ = encoded.last?.crossValues.last?.toArray().count   // a device's queue done
                encodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                // alternate which run goes first
                for draftsFirst in g % 2 == 0 ? [false, true] : [true, false] {
                    let run = try decode(engine.model, group, encoded: encoded, config: config, drafts: draftsFirst ? draftTokens : 0)
                    if draftsFirst { draftedSeconds += run.seconds; drafted = drafted.adding(run.statistics) }
                    else { plainSeconds += run.seconds; plain = plain.adding(run.statistics) }
                }
                tokens += group.reduce(0) { $0 + $1.forced.count }
            }
            let n = Double(texts.count)
            let line: [String: Any] = [
                "batch": size, "tokens": tokens, "passes": drafted.passes, "passes_plain": plain.passes,
                "passes_per_token": Double(drafted.textPasses) / Double(max(1, tokens)),
                "drafted_tokens_used": drafted.accepted, "drafted_tokens_fed": drafted.proposed,
                "ms_per_summary": draftedSeconds * 1000 / n, "ms_per_summary_plain": plainSeconds * 1000 / n,
                "encode_ms_per_article": encodeSeconds * 1000 / n,
                "ms_per_pass": draftedSeconds * 1000 / Double(max(1, drafted.passes)),
                "ms_per_pass_plain": plainSeconds * 1000 / Double(max(1, plain.passes)),
            ]
            printJSON(line)
            if size == 1 {
                for key in ["passes_per_token", "ms_per_summary", "ms_per_summary_plain", "tokens"] { figures[key] = line[key] }
            } else {
                figures["batch\(size)"] = line
            }
        }
        printJSON(figures)
    }

    /// Decodes `group` (each text forced to its recorded summary) from its encoding; checks the ids.
    private func decode(_ model: any Seq2SeqModel, _ group: [(input: [Int], forced: [Int])], encoded: [EncodedInput],
                        config: ResolvedGeneration, drafts: Int, steps: Int = .max) throws -> (seconds: Double, statistics: DraftStatistics) {
        var batch = DecodingBatch(model: model)
        batch.draftTokens = drafts
        if proposer == .oracle {
            // the recorded summary after the tokens so far (decoder start token first), matched by input
            let known = Dictionary(group.map { ($0.input, $0.forced) }, uniquingKeysWith: { first, _ in first })
            batch.proposer = DraftProposer { tokens, source, k in Array((known[source] ?? []).dropFirst(tokens.count - 1).prefix(k)) }
        }
        let eos = config.eosTokenIds.first ?? 2
        try batch.add(group.enumerated().map { i, t in
            GenerationRequest(id: i, inputIds: t.input, config: config, processors: [ForcedReplay(tokens: t.forced, eos: eos)])
        }, encoded: encoded)
        var results: [Int: [Int]] = [:], taken = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        while !batch.isEmpty && taken < steps {
            for r in batch.step() { results[r.id] = r.sequences[0] }
            taken += 1
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if steps == .max {
            for (i, t) in group.enumerated() where results[i].map({ Array($0.dropFirst()) }) != t.forced {
                throw ValidationError("article \(i + 1) of a group: the decoder did not follow its recorded summary")
            }
        }
        return (seconds, batch.draftStatistics)
    }

    /// Articles and their recorded summaries, matched by id, in the articles' order.
    static func pairs(articles: String, summaries: String, limit: Int) throws -> [(article: String, summary: String)] {
        func lines(_ path: String) throws -> [[String: Any]] {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read \(path)")
            }
            return try text.split(separator: "\n").enumerated().compactMap { i, line in
                if line.allSatisfy(\.isWhitespace) { return nil }
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw ValidationError("\(path) line \(i + 1): not a JSON object")
                }
                return obj
            }
        }
        var recorded: [String: String] = [:]
        for (i, o) in try lines(summaries).enumerated() {
            guard let id = o["id"] as? String, let s = o["bart"] as? String else {
                throw ValidationError("\(summaries) line \(i + 1): needs string fields \"id\" and \"bart\"")
            }
            recorded[id] = s
        }
        var out: [(String, String)] = []
        for (i, o) in try lines(articles).enumerated() {
            guard let id = o["id"] as? String, let a = o["article"] as? String else {
                throw ValidationError("\(articles) line \(i + 1): needs string fields \"id\" and \"article\"")
            }
            if let s = recorded[id] { out.append((a, s)) }
            if limit > 0 && out.count == limit { break }
        }
        if out.isEmpty { throw ValidationError("no article of \(articles) has a summary in \(summaries) (matched by \"id\")") }
        return out
    }
}

/// The bench's forcing: the next token is the recorded one (after it, EOS), whatever the scores. It touches
/// that token alone, so a step's argmax scans the row as an unforced greedy step does.
struct ForcedReplay: LogitsProcessor {
    let tokens: [Int]
    let eos: Int

    func next(_ sequence: [Int]) -> Int { sequence.count - 1 < tokens.count ? tokens[sequence.count - 1] : eos }

    func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        scores[next(sequence)] = .greatestFiniteMagnitude
    }

    func touchedTokens(sequence: [Int], vocabulary: Int) -> [Int]? { [next(sequence)] }
}

private func printJSON(_ object: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}
