import ArgumentParser
import BrevityKit
import Serving
import Foundation
import Tensor
import Generation
import Models
import Tokenizers

/// `brevity summarize --model PATH --format jsonl [--params JSON] [--max-batch-size N]`:
/// reads `{"text": ...}` lines (or pre-tokenized `{"input_ids": [...]}`) and writes, in input order, one
/// `{"text": summary, "token_ids": [...]}` per line. `token_ids` is what transformers' `generate` returns
/// for that input alone (decoder start token first, forced BOS/EOS included, no padding); `text` is its
/// decode without special tokens. `--format text` summarizes files (or standard input) for people.
struct SummarizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Summarize texts with an encoder-decoder model (BART, mBART, Pegasus, T5) on the CPU or a GPU."
    )

    enum Format: String, ExpressibleByArgument { case jsonl, text }

    @Option(help: "A model folder (config.json, weights, tokenizer files) or org/name[@revision] from the hub cache or downloaded.")
    var model: String

    @Option(help: "jsonl: {\"text\"} lines in, {\"text\", \"token_ids\"} lines out; text: plain text in and out.")
    var format: Format = .jsonl

    @Option(help: "Generation parameters as a JSON object with transformers' names (num_beams, max_length, ...).")
    var params: String?

    @Option(help: "Text put before every input (default: config.json's task_specific_params.summarization.prefix, \"summarize: \" for T5; \"\" for none). Not applied to input_ids.")
    var prefix: String?

    @Option(help: "Texts past the model's window: cut (as transformers' pipeline and the service by default), chunk (summarized in pieces, then their summaries: the service's truncation \"chunk\"), or error. input_ids lines are cut.")
    var truncation: SummaryRequest.Truncation = .cut

    @Option(help: "Most inputs decoding together.")
    var maxBatchSize: Int = 8

    @Option(help: "Tokens proposed from the input that a decoder pass checks, for greedy and beam search alike; 0 for none. Never changes the ids. Without it (and BREVITY_DRAFT_TOKENS), greedy texts check 6 and beam searches none.")
    var draftTokens: Int?

    @Option(help: "Time the generation: run it this many times after a warm-up, report to standard error.")
    var benchRepeat: Int = 0

    @Option(help: "With --bench-repeat: rows a drafted decoder pass may hold, all texts' beams and drafted tokens together (default: the backend's nearly free rows, 4-7 on a CPU, 64 on a GPU; at most 64).")
    var draftRows: Int?

    @Flag(help: "With --bench-repeat: time the encoder alone over the inputs (batched by --max-batch-size; the cross-attention keys and values included), instead of generating.")
    var benchEncoder = false

    @Option(help: "Weights' type: float32, bfloat16, float16, int8 (default: DTYPE, else float32).")
    var dtype: String?

    @Option(help: "cpu, cuda or auto (default: DEVICE, else auto: a GPU when one is usable, with float16 (bfloat16 for T5) unless --dtype says otherwise).")
    var device: String?

    @Argument(help: "With --format text: files to summarize (standard input when none).")
    var files: [String] = []

    func validate() throws {
        if maxBatchSize < 1 { throw ValidationError("--max-batch-size must be at least 1") }
        if let k = draftTokens, !(0...SummaryRequest.maxDraftTokens).contains(k) {
            throw ValidationError("--draft-tokens must be in 0...\(SummaryRequest.maxDraftTokens)")
        }
        if benchRepeat < 0 { throw ValidationError("--bench-repeat must be non-negative") }
        if let r = draftRows, !(1...DecodingBatch.invariantRows).contains(r) {
            throw ValidationError("--draft-rows must be in 1...\(DecodingBatch.invariantRows)")
        }
        if draftRows != nil && benchRepeat < 1 { throw ValidationError("--draft-rows needs --bench-repeat of at least 1") }
        if benchEncoder && benchRepeat < 1 { throw ValidationError("--bench-encoder needs --bench-repeat of at least 1") }
        if format == .jsonl && !files.isEmpty { throw ValidationError("files are read with --format text only") }
        _ = try requestedDType(dtype)
    }

    func run() async throws {
        // parameters first: a bad request fails before the model loads
        // the service's reader of generation values, strictly; --prefix and --truncation set the rest
        var request = SummaryRequest()
        if let params {
            guard let data = params.data(using: .utf8),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                fail("--params: not a JSON object: \(params)")
            }
            do { request = try SummarizeRequest.generationParameters(json) } catch { fail("--params: \(error)") }
        }
        request.prefix = prefix
        request.truncation = truncation
        // drafting asked for by the flag, else by BREVITY_DRAFT_TOKENS; nil: the runtime's default
        if let k = draftTokens {
            request.draftTokens = k
        } else if let v = ProcessInfo.processInfo.environment["BREVITY_DRAFT_TOKENS"], !v.isEmpty {
            guard let k = Int(v.trimmingCharacters(in: .whitespaces)), (0...SummaryRequest.maxDraftTokens).contains(k) else {
                fail("BREVITY_DRAFT_TOKENS=\(v): expected an integer in 0...\(SummaryRequest.maxDraftTokens)")
            }
            request.draftTokens = k
        }
        do { try request.validate() } catch { fail("\(error)") }
        let folder = await resolveModelFolder(model)   // a folder, or a hub model (DownloadCommand.swift)
        // the model, tokenizer, generation defaults and task prefix, loaded as the service and BrevityKit load them
        let loaded: SummarizationEngine
        let config: ResolvedGeneration
        var chosenType = DType.f32
        do {
            let (backend, type) = try chooseBackend(device: device, dtype: dtype, modelType: try? ModelRegistry.modelType(folder: folder))
            chosenType = type
            loaded = try SummarizationEngine.load(folder: folder, name: model, weightType: type, backend: backend)
            config = try loaded.resolve(request.generation)
        } catch { fail("cannot load model \(model): \(error)") }
        let engine = loaded.model, tokenizer = loaded.tokenizer
        let maxInput = loaded.maxInputTokens

        // inputs, tokenized and cut to the model's window (T5: the tokenizer's model_max_length) by the one
        // pipeline the service and the library run; input_ids lines are cut as they are
        let texts: [Input] = format == .jsonl ? readJSONLines() : readTextInputs()
        var prepared: [PreparedText] = []
        for (i, t) in texts.enumerated() {
            switch t {
            case .ids(let ids):
                if ids.isEmpty { fail("line \(i + 1): empty input_ids") }
                prepared.append(PreparedText(text: "", inputIds: Array(ids.prefix(maxInput)), inputTokens: ids.count, truncated: false))
            case .text(let text):
                do { prepared += try loaded.prepare([text], prefix: request.prefix, truncation: request.truncation) } catch let e as TextError {
                    fail("line \(i + 1): \(e.message)")
                }
            }
        }
        let inputs = prepared.map(\.inputIds)
        for (i, ids) in inputs.enumerated() {
            if let bad = ids.first(where: { $0 < 0 || $0 >= engine.vocabularySize }) {
                fail("input \(i + 1): token id \(bad) outside the model's vocabulary of \(engine.vocabularySize)")
            }
        }
        if benchEncoder {
            benchEncode(engine, inputs, type: chosenType)
            return
        }
        // Outputs are written in input order as soon as each one and all before it are done, so a long
        // job's results arrive (and survive an interruption) as it goes; a terminal gets a progress line.
        let out = StdoutWriter()
        var ready: [Int: [Int]] = [:]
        var written = 0, done = 0
        let progress = isatty(2) == 1 && inputs.count > 1 ? Progress(total: inputs.count) : nil
        func emit(_ ids: [Int]) {
            let text = tokenizer.decode(ids, skipSpecialTokens: true)
            switch format {
            case .jsonl:
                let obj: [String: Any] = ["text": text, "token_ids": ids]
                let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
                out.write(Array(data) + [0x0A])
            case .text:
                out.write(Array((text + "\n").utf8))
            }
        }
        func finished(_ index: Int, _ ids: [Int]) {
            ready[index] = ids
            while let ids = ready.removeValue(forKey: written) {
                emit(ids)
                written += 1
            }
            out.flush()
            done += 1
            progress?.update(done)
        }
        // The runtime every surface submits to: continuous batching of at most --max-batch-size texts;
        // with --truncation chunk the longer texts are summarized in pieces after the others.
        let runtime = BatchScheduler(engine: loaded, maxConcurrent: maxBatchSize, maxBatchRows: Int(Int32.max))   // greedy texts draft by default
        defer { runtime.stop() }
        do {
            _ = try await runtime.summarize(prepared, config: config, chunked: truncation == .chunk, prefix: prefix,
                                           draftTokens: request.draftTokens, finished: { finished($0, $1.ids) })
            progress?.finish()
            if benchRepeat > 0 {
                // the runtime's rule: the request's drafting, else the default for greedy texts
                let k = request.draftTokens ?? (config.numBeams == 1 ? RuntimeDefaults.draftTokens : 0)
                try bench(engine, inputs, Array(repeating: config, count: inputs.count), type: chosenType, draftTokens: k)
            }
        } catch { fail("generation failed: \(error)") }
        out.flush()
    }

    /// "summarized 12/100 texts, 2.3 texts/s, 38 s left" on standard error, redrawn in place.
    final class Progress {
        let total: Int
        let start = DispatchTime.now().uptimeNanoseconds
        var last: UInt64 = 0
        init(total: Int) { self.total = total }

        func update(_ done: Int) {
            let now = DispatchTime.now().uptimeNanoseconds
            guard done == total || now - last > 200_000_000 else { return }
            last = now
            let secs = max(1e-9, Double(now - start) / 1e9)
            let rate = Double(done) / secs
            let left = rate > 0 ? Double(total - done) / rate : 0
            let line = String(format: "\rsummarized %d/%d texts, %.2f texts/s, %.0f s left  ", done, total, rate, left)
            FileHandle.standardError.write(Data(line.utf8))
        }

        func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    enum Input {
        case text(String)
        case ids([Int])
    }

    private func readJSONLines() -> [Input] {
        var inputs: [Input] = []
        var lines = StdinLines()
        var n = 0
        while let raw = lines.next() {
            n += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
                fail("line \(n): not a JSON object")
            }
            if let unknown = obj.keys.sorted().first(where: { $0 != "text" && $0 != "input_ids" }) {
                fail("line \(n): unknown field '\(unknown)' (expected \"text\")")
            }
            if let text = obj["text"] {
                guard let s = text as? String else { fail("line \(n): \"text\" must be a string") }
                inputs.append(.text(s))
            } else if let ids = obj["input_ids"] as? [NSNumber] {
                inputs.append(.ids(ids.map(\.intValue)))
            } else {
                fail("line \(n): missing \"text\"")
            }
        }
        return inputs
    }

    private func readTextInputs() -> [Input] {
        if files.isEmpty {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let s = String(data: data, encoding: .utf8) else { fail("standard input is not UTF-8") }
            return [.text(s)]
        }
        return files.map { path in
            guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
            guard let s = String(data: data, encoding: .utf8) else { fail("\(path) is not UTF-8") }
            return .text(s)
        }
    }

    /// Warm-up, then `benchRepeat` timed runs; medians to standard error as one JSON line.
    /// With a run's search steps decided, summed over its texts (`steps`: tokens for a greedy text, beam
    /// steps for a beam search; one text without drafts takes a decoder pass for each), its decoder passes
    /// (`passes`) and tokens generated (`tokens`), and, on
    /// a GPU, what a pass gives the stream (launches, cuBLAS calls, uploads, device copies,
    /// synchronizations), per pass: where a pass's time goes on the host.
    private func bench(_ engine: any Seq2SeqModel, _ inputs: [[Int]], _ configs: [ResolvedGeneration], type: DType, draftTokens: Int) throws {
        var times: [Double] = []
        var passes = 0, tokens = 0, steps = 0
        let stream = (engine.backend as? CUDABackend)?.gpu as? CUDAStream
        let before = stream?.counts
        for _ in 0..<benchRepeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var stats = DraftStatistics()
            let results = try generate(model: engine, inputs: inputs, configs: configs, maxBatchSize: maxBatchSize,
                                       drafts: draftTokens > 0 ? (draftTokens, .source) : nil, draftRowLimit: draftRows,
                                       statistics: { stats = $0 })
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            passes += stats.passes
            steps += stats.steps
            tokens += results.reduce(0) { $0 + SummarizationEngine.generatedCount($1.first ?? []) }
        }
        let median = times.sorted()[times.count / 2]
        var extra = "\"steps\": \(steps / benchRepeat), \"passes\": \(passes / benchRepeat), \"tokens\": \(tokens / benchRepeat), "
            + "\"draft_tokens\": \(draftTokens), \"ms_per_step\": \(median * 1000 / max(Double(steps) / Double(benchRepeat), 1)), "
            + "\"ms_per_pass\": \(median * 1000 / max(Double(passes) / Double(benchRepeat), 1)), "
        if let stream, let before {
            let c = stream.counts, s = max(Double(passes), 1)
            func per(_ a: Int, _ b: Int) -> String { String(format: "%.1f", Double(a - b) / s) }
            extra += "\"per_step\": {\"launches\": \(per(c.launches, before.launches)), \"gemms\": \(per(c.gemms, before.gemms)), "
                + "\"uploads\": \(per(c.uploads, before.uploads)), \"copies\": \(per(c.copies, before.copies)), "
                + "\"synchronizations\": \(per(c.synchronizations, before.synchronizations))}, "
        }
        report(times, engine: engine, type: type, extra: extra)
    }

    /// One JSON line to standard error: what ran, the timed runs and their median.
    private func report(_ times: [Double], engine: any Seq2SeqModel, type: DType, extra: String = "") {
        let median = times.sorted()[times.count / 2]
        FileHandle.standardError.write(Data("{\"dtype\": \"\(type.userName)\", \"device\": \"\(engine.backend.name)\", \"cpu_kernels\": \"\(CPUBackend.shared.tier.name)\", \(extra)\"bench_seconds\": \(times), \"median\": \(median)}\n".utf8))
    }

    /// The encoder over every input (batches of maxBatchSize, as generation encodes them): a warm-up, then
    /// `benchRepeat` timed passes; medians to standard error as one JSON line.
    private func benchEncode(_ engine: any Seq2SeqModel, _ inputs: [[Int]], type: DType) {
        var times: [Double] = []
        for run in 0...benchRepeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for start in stride(from: 0, to: inputs.count, by: maxBatchSize) {
                let encoded = engine.encode(Array(inputs[start..<min(inputs.count, start + maxBatchSize)]))
                _ = encoded.last?.crossValues.last?.toArray().count   // waits for a device's queue
            }
            if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        report(times, engine: engine, type: type, extra: "\"encoder\": true, \"tokens\": \(inputs.map(\.count)), ")
    }

    private func fail(_ message: String) -> Never {
        printError(message)
        Foundation.exit(2)
    }
}

extension SummaryRequest.Truncation: ExpressibleByArgument {}
