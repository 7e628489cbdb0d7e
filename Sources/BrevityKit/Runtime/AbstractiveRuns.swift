import Foundation
import Generation
import Tensor

// The abstractive pipeline every surface runs (the service's routes, the library's Summarizer, `brevity
// summarize`): prepare (tokenize, apply the truncation rule), submit to the BatchScheduler, wait, and
// for `truncation: chunk` drive each long text's map-reduce rounds through the same scheduler.

/// An abstractive input as the scheduler takes it: its text, the ids it decodes from (cut to the model's
/// window), its whole length in tokens and whether it was cut.
public struct PreparedText: Sendable, Equatable {
    /// The text as given (empty for pre-tokenized input).
    public var text: String
    /// The ids the encoder reads: the tokenized text, prefix included, cut to the window.
    public var inputIds: [Int]
    /// The whole input's length in tokens, before any cut.
    public var inputTokens: Int
    /// Whether the input was longer than the window (cut, or chunked when asked).
    public var truncated: Bool

    /// An input as the fields say.
    public init(text: String, inputIds: [Int], inputTokens: Int, truncated: Bool) {
        self.text = text
        self.inputIds = inputIds
        self.inputTokens = inputTokens
        self.truncated = truncated
    }
}

/// One input that cannot be summarized: its position among the texts and why.
public struct TextError: Error, Equatable, CustomStringConvertible {
    /// The input's position among the texts.
    public let index: Int
    /// What is wrong with it.
    public let message: String
    /// `texts[i]: why`.
    public var description: String { "texts[\(index)]: \(message)" }
}

/// What one text's run gave: the summary's ids (decoder start token first), its input's length and
/// whether it was cut (or, chunked, summarized from several pieces), and the seconds it waited and ran.
public struct TextResult: Sendable, Equatable {
    /// The summary's token ids, decoder start token first.
    public var ids: [Int]
    /// The input's whole length in tokens.
    public var inputTokens: Int
    /// Whether the input was cut, or summarized from several pieces.
    public var truncated: Bool
    /// Seconds the text waited for a place in the batch (chunked: summed over rounds).
    public var queueSeconds: Double
    /// Seconds the text spent in the batch (chunked: summed over rounds).
    public var inferenceSeconds: Double
    /// Its encoder pass and decoder passes (chunked: summed over its pieces).
    public var run: BatchScheduler.TextRun

    /// A result as the fields say.
    public init(ids: [Int], inputTokens: Int, truncated: Bool, queueSeconds: Double, inferenceSeconds: Double,
                run: BatchScheduler.TextRun = .init()) {
        self.ids = ids
        self.inputTokens = inputTokens
        self.truncated = truncated
        self.queueSeconds = queueSeconds
        self.inferenceSeconds = inferenceSeconds
        self.run = run
    }
}

extension SummarizationEngine {
    /// The texts tokenized with `prefix` (nil: the model's task prefix) and cut to the window; under
    /// `.error` a text past the window throws `TextError`, as does one the tokenizer cannot take.
    public func prepare(_ texts: [String], prefix: String?, truncation: SummaryRequest.Truncation) throws -> [PreparedText] {
        var prepared: [PreparedText] = []
        for (i, text) in texts.enumerated() {
            let p: (ids: [Int], tokens: Int, truncated: Bool)
            do { p = try inputIds(text, prefix: prefix) } catch let e as TokenIdError {
                throw TextError(index: i, message: "\(e)")
            } catch { throw TextError(index: i, message: "cannot tokenize: \(error)") }
            if p.truncated && truncation == .error {
                throw TextError(index: i, message: "\(p.tokens) tokens exceed the model's limit of \(maxInputTokens) tokens (truncation is \"error\")")
            }
            prepared.append(PreparedText(text: text, inputIds: p.ids, inputTokens: p.tokens, truncated: p.truncated))
        }
        return prepared
    }
}

extension BatchScheduler {
    /// Summarizes `prepared` with `config`: texts that fit (all of them unless `chunked`) are queued
    /// together; with `chunked`, each text past the window is then summarized by map-reduce
    /// (`ChunkedSummary`, its pieces taking `prefix`), each round's pieces queued together. At most
    /// `together` texts are queued at once (nil: all). `register` hears every queued id (false: the caller
    /// is gone, they are cancelled); `finished` hears each text's result as it is done (its index in
    /// `prepared`). Results are in order; the first failure ends the run and cancels the rest. `draftTokens`
    /// is the request's drafting (nil: the scheduler's).
    public func summarize(_ prepared: [PreparedText], config: ResolvedGeneration, chunked: Bool = false, prefix: String? = nil,
                          together: Int? = nil, draftTokens: Int? = nil, register: ([Int]) -> Bool = { _ in true },
                          finished: (Int, TextResult) -> Void = { _, _ in }) async throws -> [TextResult] {
        var out = [TextResult?](repeating: nil, count: prepared.count)
        let whole = prepared.indices.filter { !chunked || !prepared[$0].truncated }
        let r = try await run(whole.map { prepared[$0] }, config: config, together: together, draftTokens: draftTokens, register: register) { finished(whole[$0], $1) }
        for (k, i) in whole.enumerated() { out[i] = r[k] }
        for i in prepared.indices where out[i] == nil {
            var document = ChunkedSummary(text: prepared[i].text, engine: engine, prefix: prefix)
            var queue = 0.0, infer = 0.0, work = TextRun()
            while document.result == nil {
                let pieces = try document.nextRound().map { PreparedText(text: "", inputIds: $0, inputTokens: $0.count, truncated: false) }
                let round = try await run(pieces, config: config, together: together, draftTokens: draftTokens, register: register) { _, _ in }
                queue += round.map(\.queueSeconds).max() ?? 0
                infer += round.map(\.inferenceSeconds).max() ?? 0
                work = round.reduce(work) { $0.adding($1.run) }
                document.finish(round: round.map(\.ids))
            }
            out[i] = TextResult(ids: document.result!.ids, inputTokens: prepared[i].inputTokens, truncated: document.result!.truncated,
                                queueSeconds: queue, inferenceSeconds: infer, run: work)
            finished(i, out[i]!)
        }
        return out.map { $0! }
    }

    /// Queues the texts `together` at a time (nil: all at once) and waits for each group; `done` hears
    /// each text as it finishes (its index in `prepared`).
    private func run(_ prepared: [PreparedText], config: ResolvedGeneration, together: Int?, draftTokens: Int?, register: ([Int]) -> Bool,
                     done: (Int, TextResult) -> Void) async throws -> [TextResult] {
        let size = max(1, together ?? prepared.count)
        var out: [TextResult] = []
        for start in stride(from: 0, to: prepared.count, by: size) {
            out += try await runTogether(Array(prepared[start..<min(prepared.count, start + size)]), config: config,
                                         draftTokens: draftTokens, register: register) { done(start + $0, $1) }
        }
        return out
    }

    /// Queues the texts together and waits for all of them; `done` hears each as it finishes.
    private func runTogether(_ prepared: [PreparedText], config: ResolvedGeneration, draftTokens: Int?, register: ([Int]) -> Bool,
                             done: (Int, TextResult) -> Void) async throws -> [TextResult] {
        guard !prepared.isEmpty else { return [] }
        let submitted = try submit(prepared.map { Item(inputIds: $0.inputIds, config: config, draftTokens: draftTokens) })
        guard register(submitted.map(\.id)) else {
            for s in submitted { cancel(s.id) }
            throw CancellationError()
        }
        return try await withThrowingTaskGroup(of: (Int, TextResult).self) { group in
            for (i, s) in submitted.enumerated() {
                let p = prepared[i]
                group.addTask {
                    var queue = 0.0
                    for try await event in s.events {
                        switch event {
                        case .started(let q): queue = q
                        case .progress: break
                        case .finished(let seqs, let secs, let work):
                            return (i, TextResult(ids: seqs.first ?? [], inputTokens: p.inputTokens, truncated: p.truncated,
                                                  queueSeconds: queue, inferenceSeconds: secs, run: work))
                        }
                    }
                    throw CancellationError()
                }
            }
            var out = [TextResult?](repeating: nil, count: submitted.count)
            do {
                for try await (i, r) in group {
                    out[i] = r
                    done(i, r)
                }
            } catch {
                for s in submitted { cancel(s.id) }
                throw error
            }
            return out.map { $0! }
        }
    }
}
