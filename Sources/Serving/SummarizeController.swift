import BrevityKit
import Foundation
import Generation
import HTTPTypes
import Hummingbird
import Logging
import Tensor
import NIOCore

/// Abstractive summaries for `POST /summarize` and `POST /summarize/stream` (SummarizeRoutes parses the
/// body and picks the mode): request -> tokenizer -> scheduler queue -> batched encoder pass -> decoder
/// steps shared with other requests -> detokenize -> JSON or SSE.
struct SummarizeController {
    let engine: SummarizationEngine
    let scheduler: BatchScheduler
    let metrics: ServiceMetrics
    let config: ServerConfig

    // MARK: One text's plan

    /// A text as the scheduler sees it: the ids it decodes from and what the response reports.
    struct Prepared {
        var text: String
        var inputIds: [Int]
        var inputTokens: Int
        var truncated: Bool
    }

    /// Resolves the parameters and tokenizes; every problem is an APIError thrown before any work is queued.
    func prepare(_ req: SummarizeRequest) throws -> (ResolvedGeneration, [Prepared]) {
        let resolved: ResolvedGeneration
        do { resolved = try engine.resolve(req.generation) } catch let GenerationError.invalidParameter(field, why) {
            throw APIError.invalid(field, why)
        }
        let field = req.shape == .huggingFace ? "inputs" : "texts"
        var prepared: [Prepared] = []
        for (i, text) in req.texts.enumerated() {
            let p: (ids: [Int], tokens: Int, truncated: Bool)
            do { p = try engine.inputIds(text, prefix: req.prefix) } catch let e as TokenIdError {
                throw APIError.invalid("\(field)[\(i)]", "\(e)")
            } catch { throw APIError.invalid("\(field)[\(i)]", "cannot tokenize: \(error)") }
            if p.truncated && req.truncation == .error {
                throw APIError.invalid("\(field)[\(i)]", "\(p.tokens) tokens exceed the model's limit of \(engine.maxInputTokens) tokens (truncation is \"error\")")
            }
            prepared.append(Prepared(text: text, inputIds: p.ids, inputTokens: p.tokens, truncated: p.truncated))
        }
        return (resolved, prepared)
    }

    // MARK: POST /summarize

    func summarize(_ req: SummarizeRequest, cancel: RequestCancellation, started t0: UInt64) async throws -> Response {
        let (config, prepared) = try prepare(req)
        let results = req.truncation == .chunk
            ? try await runChunked(prepared, prefix: req.prefix, config: config, cancel: cancel)
            : try await runTexts(prepared, config: config, cancel: cancel)
        return respond(req, results, started: t0)
    }

    struct TextResult {
        var ids: [Int]
        var inputTokens: Int
        var truncated: Bool
        var queueSeconds: Double
        var inferenceSeconds: Double
    }

    /// Queues the texts and waits for all of them.
    func runTexts(_ prepared: [Prepared], config: ResolvedGeneration, cancel: RequestCancellation) async throws -> [TextResult] {
        let submitted = try scheduler.submit(prepared.map { .init(inputIds: $0.inputIds, config: config) })
        guard cancel.register(submitted.map(\.id), scheduler.cancel) else { throw CancellationError() }
        return try await withThrowingTaskGroup(of: (Int, TextResult).self) { group in
            for (i, s) in submitted.enumerated() {
                let p = prepared[i]
                group.addTask {
                    var queue = 0.0
                    for try await event in s.events {
                        switch event {
                        case .started(let q): queue = q
                        case .progress: break
                        case .finished(let seqs, let secs):
                            return (i, TextResult(ids: seqs.first ?? [], inputTokens: p.inputTokens, truncated: p.truncated,
                                                  queueSeconds: queue, inferenceSeconds: secs))
                        }
                    }
                    throw CancellationError()
                }
            }
            var out = [TextResult?](repeating: nil, count: submitted.count)
            do {
                for try await (i, r) in group { out[i] = r }
            } catch {
                cancel.cancelAll()
                throw error
            }
            return out.map { $0! }
        }
    }

    /// `truncation: "chunk"`: texts that fit run as they are; each longer one is summarized by map-reduce
    /// (`ChunkedSummary`), its rounds' pieces queued together.
    func runChunked(_ prepared: [Prepared], prefix: String?, config: ResolvedGeneration, cancel: RequestCancellation) async throws -> [TextResult] {
        var out = [TextResult?](repeating: nil, count: prepared.count)
        let short = prepared.indices.filter { !prepared[$0].truncated }
        if !short.isEmpty {
            let r = try await runTexts(short.map { prepared[$0] }, config: config, cancel: cancel)
            for (k, i) in short.enumerated() { out[i] = r[k] }
        }
        for i in prepared.indices where prepared[i].truncated {
            var document = ChunkedSummary(text: prepared[i].text, engine: engine, prefix: prefix)
            var queue = 0.0, infer = 0.0
            while document.result == nil {
                let pieces = try document.nextRound().map { Prepared(text: "", inputIds: $0, inputTokens: $0.count, truncated: false) }
                let results = try await runTexts(pieces, config: config, cancel: cancel)
                queue += results.map(\.queueSeconds).max() ?? 0
                infer += results.map(\.inferenceSeconds).max() ?? 0
                document.finish(round: results.map(\.ids))
            }
            out[i] = TextResult(ids: document.result!.ids, inputTokens: prepared[i].inputTokens, truncated: document.result!.truncated,
                                queueSeconds: queue, inferenceSeconds: infer)
        }
        return out.map { $0! }
    }

    func respond(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64) -> Response {
        let r = result(req, results, started: t0)
        var response = jsonResponse(r.body)
        response.headers[.xQueueTime] = String(format: "%.1f", r.queueMs)
        response.headers[.xInferenceTime] = String(format: "%.1f", r.inferenceMs)
        return response
    }

    /// The response body in the request's shape (and the metrics it counts).
    func result(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64) -> (body: SummarizeBody, queueMs: Double, inferenceMs: Double) {
        let latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        var inputTotal = 0, generatedTotal = 0
        let summaries = results.map { r in
            let generated = SummarizationEngine.generatedCount(r.ids)
            inputTotal += r.inputTokens
            generatedTotal += generated
            return SummaryBody(text: engine.text(r.ids), inputTokens: r.inputTokens, generatedTokens: generated, truncated: r.truncated)
        }
        metrics.inputTokens.increment(by: Int64(inputTotal))
        metrics.generatedTokens.increment(by: Int64(generatedTotal))
        for r in results { metrics.inferenceDuration.record(r.inferenceSeconds) }
        let body: SummarizeBody
        switch req.shape {
        case .originals:
            body = .originals(summaries: summaries, model: engine.name, device: engine.device, mode: SummaryMode.abstractive.rawValue,
                              latencyMs: (latency * 10).rounded() / 10)
        case .huggingFace:
            body = .huggingFace(summaries)
        }
        return (body, (results.map(\.queueSeconds).max() ?? 0) * 1000, (results.map(\.inferenceSeconds).max() ?? 0) * 1000)
    }

}
